// A misbehaving graphql-transport-ws server for the stitched-subscription tests: it acknowledges
// the connection, answers a `subscribe` with one good `reviewAdded` event (`{ id body }`, whatever was asked), then sends a text
// frame that is not JSON. Listens on 127.0.0.1:0 (path /graphql) and prints `LISTENING <port>`.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const server = createServer((_req, res) => {
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({
  server,
  path: '/graphql',
  handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false),
});
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    let message;
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    if (message.type === 'connection_init') {
      socket.send(JSON.stringify({ type: 'connection_ack' }));
    } else if (message.type === 'ping') {
      socket.send(JSON.stringify({ type: 'pong' }));
    } else if (message.type === 'subscribe') {
      const review = { id: '1', body: 'Review 1' };
      socket.send(JSON.stringify({ id: message.id, type: 'next', payload: { data: { reviewAdded: review } } }));
      socket.send('this is not JSON {');
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
