package chatkit_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/chatstore"
)

// An echo assistant on the PostgreSQL store: the Server does the protocol (threads, the
// user's message, stream_options, errors) and the Responder only writes its answer through
// the Stream, which stores every item before the client sees it.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	echo := chatkit.ResponderFunc(func(ctx context.Context, turn *chatkit.Turn, s *chatkit.Stream) error {
		if turn.Kind != chatkit.TurnUserMessage {
			return chatkit.CustomError("This assistant only echoes messages.", false)
		}
		msg, err := s.StartMessage()
		if err != nil {
			return err // the client left: stop writing
		}
		if err := msg.Delta("You said: " + turn.Input.Text()); err != nil {
			return err
		}
		_, err = msg.Done()
		return err
	})
	srv, err := chatkit.NewServer(chatkit.Options{Store: chatstore.New(pool, chatstore.Options{}), Responder: echo})
	if err != nil {
		log.Fatal(err)
	}

	// Over HTTP, behind middleware that puts the verified user into the context.
	http.Handle("POST /chatkit", srv)

	// Without HTTP: one turn, its events collected.
	var events chatkit.Collector
	err = srv.Stream(ctx, chatkit.Caller{UserID: "alice"}, &chatkit.CreateThreadRequest{Input: chatkit.TextInput("hello")}, &events)
	if err != nil {
		log.Fatal(err)
	}
	for _, ev := range events.Events {
		fmt.Println(ev.EventType())
	}
}
