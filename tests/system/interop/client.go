// A chatnode client built on Go's gorilla/websocket (Debian's
// golang-github-gorilla-websocket-dev, built in GOPATH mode offline): runs
// one scenario against a node and prints what the library reports, one JSON
// object a line, for tests/system/interop.test.mjs to check.
//
// Usage: client SCENARIO URL [LIMIT]   (LIMIT: the node's max_frame_bytes)
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const deadline = 15 * time.Second

type frame struct {
	Op    string `json:"op"`
	Fin   bool   `json:"fin"`
	Bytes int    `json:"bytes"`
}

// tap reads the frame headers of what the library writes, to show how a
// message went on the wire. It starts after the HTTP handshake.
type tap struct {
	net.Conn
	mu     sync.Mutex
	on     bool
	head   []byte
	skip   int
	frames []frame
}

var opNames = map[byte]string{0: "cont", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}

func (t *tap) Write(p []byte) (int, error) {
	t.mu.Lock()
	if t.on {
		t.parse(p)
	}
	t.mu.Unlock()
	return t.Conn.Write(p)
}

func (t *tap) parse(p []byte) {
	for len(p) > 0 {
		if t.skip > 0 {
			n := t.skip
			if n > len(p) {
				n = len(p)
			}
			t.skip -= n
			p = p[n:]
			continue
		}
		t.head = append(t.head, p[0])
		p = p[1:]
		if len(t.head) < 2 {
			continue
		}
		size := 2 + 4 // a client's frames are masked
		switch t.head[1] & 0x7f {
		case 126:
			size += 2
		case 127:
			size += 8
		}
		if len(t.head) < size {
			continue
		}
		length := int(t.head[1] & 0x7f)
		if length == 126 {
			length = int(t.head[2])<<8 | int(t.head[3])
		} else if length == 127 {
			length = 0
			for _, b := range t.head[2:10] {
				length = length<<8 | int(b)
			}
		}
		t.frames = append(t.frames, frame{opNames[t.head[0]&0x0f], t.head[0]&0x80 != 0, length})
		t.skip = length
		t.head = t.head[:0]
	}
}

func (t *tap) sent() []frame {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]frame(nil), t.frames...)
}

type client struct {
	conn     *websocket.Conn
	tap      *tap
	events   chan map[string]any
	done     chan struct{}
	closeErr error
	pings    atomic.Int32
	pongs    chan string
}

// dial connects and waits for the welcome. writeBuffer is the library's
// write buffer: a message larger than it goes out in several frames.
func dial(url string, writeBuffer int) (*client, error) {
	c := &client{events: make(chan map[string]any, 1024), done: make(chan struct{}), pongs: make(chan string, 16)}
	d := websocket.Dialer{
		HandshakeTimeout: 5 * time.Second,
		WriteBufferSize:  writeBuffer,
		NetDial: func(network, addr string) (net.Conn, error) {
			conn, err := net.Dial(network, addr)
			if err != nil {
				return nil, err
			}
			c.tap = &tap{Conn: conn}
			return c.tap, nil
		},
	}
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	c.tap.mu.Lock()
	c.tap.on = true
	c.tap.mu.Unlock()
	c.conn = conn
	// The library answers pings itself while the application reads; this
	// counts them and leaves the answer to the library's own handler.
	answer := conn.PingHandler()
	conn.SetPingHandler(func(data string) error {
		c.pings.Add(1)
		return answer(data)
	})
	conn.SetPongHandler(func(data string) error {
		select {
		case c.pongs <- data:
		default:
		}
		return nil
	})
	go c.read()
	if _, err := c.expect("welcome"); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *client) read() {
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			c.closeErr = err
			close(c.done)
			return
		}
		var batch []map[string]any
		if len(data) > 0 && data[0] == '[' {
			_ = json.Unmarshal(data, &batch)
		} else {
			var one map[string]any
			_ = json.Unmarshal(data, &one)
			batch = append(batch, one)
		}
		for _, e := range batch {
			c.events <- e
		}
	}
}

// expect reads events until one of `kind`.
func (c *client) expect(kind string) (map[string]any, error) {
	timeout := time.After(deadline)
	for {
		select {
		case e := <-c.events:
			if e["type"] == kind {
				return e, nil
			}
		case <-c.done:
			return nil, fmt.Errorf("closed while waiting for %s: %v", kind, c.closeErr)
		case <-timeout:
			return nil, fmt.Errorf("no %s in time", kind)
		}
	}
}

// closed waits for the node to close; the close code as the library reports it.
func (c *client) closed() map[string]any {
	select {
	case <-c.done:
	case <-time.After(deadline):
		return map[string]any{"error": "not closed in time"}
	}
	var ce *websocket.CloseError
	if errors.As(c.closeErr, &ce) {
		return map[string]any{"close": ce.Code}
	}
	return map[string]any{"close": nil, "error": c.closeErr.Error()}
}

func (c *client) bye() {
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	c.conn.Close()
}

func out(scenario string, fields map[string]any) {
	fields["case"] = scenario
	line, _ := json.Marshal(fields)
	fmt.Println(string(line))
}

func join(name string) string {
	line, _ := json.Marshal(map[string]string{"type": "join", "room": "interop", "name": name})
	return string(line)
}

// padded is a join of exactly size bytes: JSON allows trailing whitespace.
func padded(name string, size int) string {
	text := join(name)
	return text + strings.Repeat(" ", size-len(text))
}

func run(scenario, url string, limit int) (map[string]any, error) {
	switch scenario {
	case "fragmented":
		// A 16-byte write buffer: the library sends a frame each time it
		// fills and more is written, and a control frame may go out
		// between the fragments of a message.
		c, err := dial(url, 16)
		if err != nil {
			return nil, err
		}
		text := join("go-fragments")
		from := len(c.tap.sent())
		w, err := c.conn.NextWriter(websocket.TextMessage)
		if err != nil {
			return nil, err
		}
		_, _ = w.Write([]byte(text[:16]))
		_, _ = w.Write([]byte(text[16:17])) // the first frame goes out now
		if err := c.conn.WriteControl(websocket.PingMessage, []byte("between"), time.Now().Add(time.Second)); err != nil {
			return nil, err
		}
		_, _ = w.Write([]byte(text[17:]))
		if err := w.Close(); err != nil {
			return nil, err
		}
		reply, err := c.expect("joined")
		if err != nil {
			return nil, err
		}
		var pong string
		select {
		case pong = <-c.pongs:
		case <-time.After(5 * time.Second):
			return nil, errors.New("no pong")
		}
		defer c.bye()
		return map[string]any{"frames": c.tap.sent()[from:], "reply": reply["type"], "pong": pong == "between"}, nil
	case "fragmented_over":
		c, err := dial(url, 0)
		if err != nil {
			return nil, err
		}
		w, err := c.conn.NextWriter(websocket.TextMessage)
		if err != nil {
			return nil, err
		}
		half := strings.Repeat("x", limit/2+1)
		_, _ = w.Write([]byte(half))
		_, _ = w.Write([]byte(half))
		_ = w.Close() // the node may have closed by now
		r := c.closed()
		r["frames"] = len(c.tap.sent())
		return r, nil
	case "ping":
		c, err := dial(url, 0)
		if err != nil {
			return nil, err
		}
		defer c.bye()
		if err := c.conn.WriteControl(websocket.PingMessage, []byte("interop"), time.Now().Add(time.Second)); err != nil {
			return nil, err
		}
		select {
		case pong := <-c.pongs:
			return map[string]any{"pong": pong == "interop"}, nil
		case <-time.After(5 * time.Second):
			return nil, errors.New("no pong")
		}
	case "idle_ping":
		c, err := dial(url, 0)
		if err != nil {
			return nil, err
		}
		defer c.bye()
		// Sends nothing: the node pings after half its idle timeout, the
		// library answers. A second ping shows the first pong was heard:
		// without it the node closes at the timeout instead.
		until := time.Now().Add(deadline)
		for c.pings.Load() < 2 {
			select {
			case <-c.done:
				return nil, fmt.Errorf("closed while idle: %v", c.closeErr)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(until) {
				return nil, fmt.Errorf("%d pings in time", c.pings.Load())
			}
		}
		pongs := 0
		for _, f := range c.tap.sent() {
			if f.Op == "pong" {
				pongs++
			}
		}
		if err := c.conn.WriteMessage(websocket.TextMessage, []byte(join("go-idle"))); err != nil {
			return nil, err
		}
		reply, err := c.expect("joined")
		if err != nil {
			return nil, err
		}
		return map[string]any{"pings": c.pings.Load(), "pongs": pongs, "reply": reply["type"]}, nil
	case "at_limit", "over_limit":
		size := limit
		if scenario == "over_limit" {
			size++
		}
		c, err := dial(url, 0)
		if err != nil {
			return nil, err
		}
		from := len(c.tap.sent())
		// The library's default 4 KiB buffer sends this in 4 KiB frames.
		werr := c.conn.WriteMessage(websocket.TextMessage, []byte(padded("go-large", size)))
		frames := 0
		for _, f := range c.tap.sent()[from:] {
			if f.Op == "text" || f.Op == "cont" {
				frames++
			}
		}
		if scenario == "over_limit" {
			r := c.closed()
			r["bytes"], r["frames"] = size, frames
			return r, nil
		}
		if werr != nil {
			return nil, werr
		}
		defer c.bye()
		reply, err := c.expect("joined")
		if err != nil {
			return nil, err
		}
		return map[string]any{"bytes": size, "frames": frames, "reply": reply["type"]}, nil
	case "invalid_utf8":
		c, err := dial(url, 0)
		if err != nil {
			return nil, err
		}
		// The library does not check what it sends.
		_ = c.conn.WriteMessage(websocket.TextMessage, []byte("{\"type\":\"join\",\"room\":\"interop\",\"name\":\"\xff\xfe\"}"))
		return c.closed(), nil
	case "protocol_error":
		c, err := dial(url, 0)
		if err != nil {
			return nil, err
		}
		// WriteControl does not check close codes: 1015 is reserved and never
		// sent on the wire (RFC 6455, 7.4.1).
		_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTLSHandshake, ""),
			time.Now().Add(time.Second))
		return c.closed(), nil
	case "close_normal":
		c, err := dial(url, 0)
		if err != nil {
			return nil, err
		}
		if err := c.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second)); err != nil {
			return nil, err
		}
		return c.closed(), nil
	case "shutdown":
		c, err := dial(url, 0)
		if err != nil {
			return nil, err
		}
		out(scenario, map[string]any{"ready": true})
		select {
		case <-c.done:
		case <-time.After(60 * time.Second):
		}
		return c.closed(), nil
	}
	return nil, fmt.Errorf("unknown scenario %q", scenario)
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: client SCENARIO URL [LIMIT]")
		os.Exit(2)
	}
	limit := 65536
	if len(os.Args) > 3 {
		limit, _ = strconv.Atoi(os.Args[3])
	}
	r, err := run(os.Args[1], os.Args[2], limit)
	if err != nil {
		r = map[string]any{"error": err.Error()}
	}
	out(os.Args[1], r)
}
