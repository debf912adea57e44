// The MCP Apps host under test, built on the official host side: @modelcontextprotocol/ext-apps
// AppBridge + PostMessageTransport, and the MCP TypeScript SDK client over streamable HTTP.
// It does what a chat host does when a tool with _meta.ui.resourceUri is called: reads the
// ui:// resource, renders it in a sandboxed iframe under the CSP the resource declares,
// answers ui/initialize with a host context, and hands over the tool's input and result.
// State for the driver (test.cjs) is kept on window.host.
import {
  AppBridge,
  PostMessageTransport,
  RESOURCE_MIME_TYPE,
  getToolUiResourceUri,
} from '@modelcontextprotocol/ext-apps/app-bridge';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const hostInfo = { name: 'taskwire-e2e-host', version: '1.0.0' };
const state = (window.host = { ready: false, error: null, calls: [], sizes: [], resource: null });

// cspFor builds the iframe's policy from the resource's _meta.ui.csp the way the MCP Apps
// specification tells hosts to: nothing beyond inline code unless a domain is declared.
function cspFor(csp = {}) {
  const list = (a) => (Array.isArray(a) && a.length ? ' ' + a.join(' ') : '');
  const res = list(csp.resourceDomains);
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline'${res}`,
    `style-src 'unsafe-inline'${res}`,
    `img-src data:${res}`,
    `font-src${res || " 'none'"}`,
    `media-src data:${res}`,
    `connect-src${list(csp.connectDomains) || " 'none'"}`,
    `frame-src${list(csp.frameDomains) || " 'none'"}`,
    "object-src 'none'",
    `base-uri${list(csp.baseUriDomains) || " 'none'"}`,
  ].join('; ');
}

function withCsp(html, csp) {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${cspFor(csp)}">`;
  return /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (m) => m + meta) : meta + html;
}

async function main() {
  const params = new URLSearchParams(location.search);
  const theme = params.get('theme') === 'dark' ? 'dark' : 'light';
  const toolName = params.get('tool') || 'list_tasks';
  const toolArgs = JSON.parse(params.get('args') || '{}');
  document.documentElement.dataset.theme = theme;

  const client = new Client(hostInfo, {
    capabilities: { extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: [RESOURCE_MIME_TYPE] } } },
  });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', location.href)));

  const { tools } = await client.listTools();
  const tool = tools.find((t) => t.name === toolName);
  const uri = tool && getToolUiResourceUri(tool);
  if (!uri) throw new Error(`${toolName} has no _meta.ui.resourceUri`);
  const read = await client.readResource({ uri });
  const content = read.contents[0];
  state.resource = { uri, mimeType: content.mimeType, meta: content._meta || null, listed: (await client.listResources()).resources };
  if (content.mimeType !== RESOURCE_MIME_TYPE) throw new Error(`resource mimeType ${content.mimeType}`);
  const ui = (content._meta && content._meta.ui) || {};

  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', 'allow-scripts'); // an opaque origin, apart from this page
  iframe.title = 'Task list';
  if (ui.prefersBorder) iframe.classList.add('bordered');
  iframe.srcdoc = withCsp(content.text, ui.csp);

  const hostContext = {
    theme,
    displayMode: 'inline',
    availableDisplayModes: ['inline'],
    containerDimensions: { width: 560, maxHeight: 500 },
    locale: 'en-US',
    timeZone: 'UTC',
    platform: 'web',
    toolInfo: { tool },
  };
  const bridge = new AppBridge(client, hostInfo, { serverTools: {}, logging: {} }, { hostContext });
  bridge.onsizechange = ({ height }) => {
    if (typeof height === 'number') {
      iframe.style.height = `${height}px`;
      state.sizes.push(height);
    }
  };
  bridge.oninitialized = async () => {
    try {
      await bridge.sendToolInput({ arguments: toolArgs });
      await bridge.sendToolResult(await client.callTool({ name: toolName, arguments: toolArgs }));
      state.ready = true;
    } catch (err) {
      state.error = String(err);
    }
  };
  document.getElementById('frame').append(iframe);
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  // Record what the app asks the server to do, then forward it as the bridge would.
  const forward = bridge.oncalltool;
  bridge.oncalltool = async (callParams, extra) => {
    state.calls.push(callParams);
    return forward(callParams, extra);
  };
  // showResult hands the app a result that no call produced, to draw fields the server
  // may send (such as repeat) without depending on them.
  state.showResult = (result) => bridge.sendToolResult(result);
  state.setTheme = (next) => {
    document.documentElement.dataset.theme = next;
    bridge.setHostContext({ ...hostContext, theme: next });
  };
}

main().catch((err) => {
  state.error = String((err && err.stack) || err);
});
