// Subscribes with the graphql-ws client (graphql-transport-ws) and prints one JSON line per
// event: {"next": result}, then {"complete": true} or {"error": ...}.
// Usage: node ws-subscribe.mjs WS_URL QUERY [CONNECTION_PARAMS_JSON]
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, query, params] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: params ? JSON.parse(params) : undefined,
  retryAttempts: 0,
});
await new Promise((resolve) => {
  client.subscribe({ query }, {
    next: (result) => console.log(JSON.stringify({ next: result })),
    error: (error) => {
      console.log(JSON.stringify({ error: error?.message ?? error?.reason ?? String(error), code: error?.code ?? null }));
      resolve();
    },
    complete: () => {
      console.log(JSON.stringify({ complete: true }));
      resolve();
    },
  });
});
await client.dispose();
process.exit(0);
