// One of the two services of the gateway-defined fields tests (users, chirps), served by
// graphql-yoga on 127.0.0.1:0; `GET /count` answers how many GraphQL requests it received.
// Usage: node chirps-subgraph.mjs <users|chirps>. Prints `LISTENING <port>`.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';

const name = process.argv[2];
const typeDefs = readFileSync(new URL(`./chirps/${name}.graphql`, import.meta.url), 'utf8');
const users = ['ada', 'grace', 'alan', 'edsger'].map((u, i) => ({
  id: String(i + 1),
  username: u,
  name: u[0].toUpperCase() + u.slice(1),
}));
// Chirp 7 has an author unknown to users; chirp 5's likes fail.
const chirps = Array.from({ length: 12 }, (_, i) => ({
  id: String(i + 1),
  text: `chirp ${i + 1}`,
  authorId: i === 6 ? '99' : String(1 + (i % 3)),
}));
const byAuthor = (id) => chirps.filter((c) => c.authorId === id);
const resolvers = {
  users: {
    Query: {
      users: () => users,
      usersByIds: (_, { ids }) => ids.map((id) => users.find((u) => u.id === id) ?? null),
    },
  },
  chirps: {
    Query: {
      chirps: (_, { first }) => (first == null ? chirps : chirps.slice(0, first)),
      chirpsByAuthorId: (_, { authorId, first }) =>
        first == null ? byAuthor(authorId) : byAuthor(authorId).slice(0, first),
      chirpsByAuthorIds: (_, { authorIds }) => authorIds.map(byAuthor),
    },
    Chirp: {
      likes: (c) => {
        if (c.id === '5') throw new GraphQLError('the likes of chirp 5 are hidden');
        return Number(c.id) * 3;
      },
    },
  },
}[name];
const yoga = createYoga({
  schema: createSchema({ typeDefs, resolvers }),
  maskedErrors: false,
  logging: false,
  graphiql: false,
});
let count = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') {
    res.end(String(count));
    return;
  }
  if (req.method === 'POST') count += 1;
  yoga(req, res);
});
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
