// subscriptions-transport-ws's server (the legacy subprotocol graphql-ws) on 127.0.0.1:0,
// path /graphql, sending `ka` keep-alives every 100 ms.
import { createServer } from 'node:http';
import { execute, subscribe } from 'graphql';
import { SubscriptionServer } from 'subscriptions-transport-ws';
import { makeSchema } from './ws-schema.mjs';

const server = createServer((_req, res) => {
  res.writeHead(404);
  res.end();
});
SubscriptionServer.create(
  {
    schema: makeSchema(),
    execute,
    subscribe,
    keepAlive: 100,
    onConnect: (connectionParams) => ({ connectionParams }),
  },
  { server, path: '/graphql' },
);
server.listen(0, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
