// Package chatkit is a server for the ChatKit custom-backend protocol: the one POST endpoint
// that OpenAI's ChatKit chat window (the <openai-chatkit> web component, @openai/chatkit-react)
// talks to when it is pointed at your own backend. docs/chatkit-protocol.md describes the
// protocol as this package implements it; the § numbers in comments refer to its sections, and
// "the reference" is OpenAI's Python server (openai-chatkit), whose behaviour the package keeps
// except where that document says otherwise.
//
// # The pieces
//
// Server decodes requests, checks them (bad input is an HTTP error before anything is stored
// or sent), locks the thread, stores the user's message, and calls the Responder. It is an
// http.Handler for the endpoint, and its Stream and Call methods run requests without HTTP
// (POST /api/chat runs a turn into a Collector).
//
// Responder is the assistant: Respond gets a Turn (why it runs — a message, a retry, a widget
// action, a client tool's output — plus the caller and the thread's history) and writes its
// answer through a Stream. A Responder that also implements SyncActionResponder answers
// threads.sync_custom_action with a replaced item instead of a stream.
//
// Stream is the responder's only way to produce output: messages streamed as deltas
// (StartMessage), workflows of tool steps (StartWorkflow), finished items (AddItem), hidden
// model context (AddHidden), notices, progress lines and client effects for the host page.
//
// Store keeps threads and items per user; every method is scoped to a user, and another
// user's data behaves as missing. chatproxy/chatstore is the PostgreSQL implementation.
//
// # Persist before send
//
// A frame the client sees is always backed by the store: the Stream stores each finished or
// replaced item (and deletes removed ones) before it writes the frame, keeps items in progress
// as pending so that a stopped answer keeps the text already shown, and never sends hidden
// items. A store failure therefore ends the turn with an error event instead of a frame the
// store does not have. Responders never write to the Store themselves; the one exception is
// Turn.SaveHidden, for state a sync action keeps beside a widget (hidden items are never sent,
// so the rule cannot be broken by it).
package chatkit
