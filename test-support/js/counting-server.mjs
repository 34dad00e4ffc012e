// An HTTP server around a graphql-yoga handler that counts the GraphQL requests it receives
// (`GET /count` answers the number) and logs every request's body in order (`GET /log`, the
// first 1,000), listening on 127.0.0.1:0 and printing `LISTENING <port>`. The subgraphs of the
// differential tests use it to let the tests assert request counts and bodies.
import { createServer } from 'node:http';

export function serveCounting(yoga) {
  let count = 0;
  const log = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/count') {
      res.end(String(count));
      return;
    }
    if (req.method === 'GET' && req.url === '/log') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(log));
      return;
    }
    if (req.method === 'POST') {
      count += 1;
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (log.length < 1000) log.push(Buffer.concat(chunks).toString('utf8'));
      });
    }
    yoga(req, res);
  });
  server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
}
