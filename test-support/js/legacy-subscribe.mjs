// Subscribes with the legacy subscriptions-transport-ws client (subprotocol graphql-ws) and
// prints one JSON line per event: {"next": result}, then {"complete": true} or {"error": ...}.
// Usage: node legacy-subscribe.mjs WS_URL QUERY [CONNECTION_PARAMS_JSON]
import pkg from 'subscriptions-transport-ws';
import WebSocket from 'ws';

const { SubscriptionClient } = pkg;
const [url, query, params] = process.argv.slice(2);
const client = new SubscriptionClient(
  url,
  { reconnect: false, connectionParams: params ? JSON.parse(params) : undefined },
  WebSocket,
);
await new Promise((resolve) => {
  client.request({ query }).subscribe({
    next: (result) => console.log(JSON.stringify({ next: result })),
    error: (error) => {
      console.log(JSON.stringify({ error: error?.message ?? JSON.stringify(error) }));
      resolve();
    },
    complete: () => {
      console.log(JSON.stringify({ complete: true }));
      resolve();
    },
  });
});
client.close();
process.exit(0);
