// Subscribes with the graphql-sse client and prints one JSON line per event:
// {"next": result}, then {"complete": true} or {"error": ...}.
// Usage: node sse-subscribe.mjs HTTP_URL QUERY [single]
import { createClient } from 'graphql-sse';

const [url, query, mode] = process.argv.slice(2);
const client = createClient({ url, singleConnection: mode === 'single', retryAttempts: 0 });
await new Promise((resolve) => {
  client.subscribe({ query }, {
    next: (result) => console.log(JSON.stringify({ next: result })),
    error: (error) => {
      console.log(JSON.stringify({ error: error?.message ?? String(error) }));
      resolve();
    },
    complete: () => {
      console.log(JSON.stringify({ complete: true }));
      resolve();
    },
  });
});
client.dispose();
process.exit(0);
