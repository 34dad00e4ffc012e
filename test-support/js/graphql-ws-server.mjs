// graphql-ws's server (subprotocol graphql-transport-ws) on 127.0.0.1:0, path /graphql.
import { createServer } from 'node:http';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { makeSchema } from './ws-schema.mjs';

const server = createServer((_req, res) => {
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ server, path: '/graphql' });
useServer(
  {
    schema: makeSchema(),
    context: (ctx) => ({ connectionParams: ctx.connectionParams }),
  },
  wss,
);
server.listen(0, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
