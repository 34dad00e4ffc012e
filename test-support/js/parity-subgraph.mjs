// One of the services of the type-merging option tests (left, right, lists, people, profiles), served by
// graphql-yoga on 127.0.0.1:0 with its SDL from test-support/js/parity/<name>.graphql; it counts
// and logs the GraphQL requests it receives (counting-server.mjs).
// Usage: node parity-subgraph.mjs <name>. Prints `LISTENING <port>`.
import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { serveCounting } from './counting-server.mjs';

const name = process.argv[2];
const sdl = readFileSync(new URL(`./parity/${name}.graphql`, import.meta.url), 'utf8');

const greeting = (_, { loud }) => (loud ? 'HELLO' : 'hello');
const resolvers = {
  left: {
    Query: {
      leftUser: () => ({ id: '1', name: 'Ada', code: '7', tags: ['math', 'engines'], since: 1843 }),
      leftSettings: () => ({ theme: 'dark', compact: true }),
      shared: (_, { id }) => `left ${id}`,
    },
    User: { greeting },
  },
  right: {
    Query: {
      rightUser: () => ({ id: '2', name: null, code: 'G-2', tags: null }),
      rightSettings: () => ({ theme: 'light', locale: 'en' }),
      shared: (_, { id }) => `right ${id ?? 'none'}`,
    },
    User: { greeting },
  },
  // Persons 1, 2, 3, 9 and 2 again; profiles knows 1, 2 and 3.
  people: {
    Query: {
      people: () => ['1', '2', '3', '9', '2'].map((id) => ({ id, name: `Person ${id}` })),
    },
  },
  // Answers in reverse order and leaves out the ids it does not know; the bio of 3 fails.
  profiles: {
    Query: {
      profilesByIds: (_, { ids }) =>
        ids
          .filter((id) => ['1', '2', '3'].includes(id))
          .reverse()
          .map((id) => ({ id })),
      profile: (_, { id }) => (['1', '2', '3'].includes(id) ? { id } : null),
    },
    Person: {
      bio: ({ id }) => {
        if (id === '3') throw new GraphQLError('the bio of 3 is private');
        return `Bio of ${id}`;
      },
    },
  },
  lists: {
    Query: { listUser: () => ({ id: '3', tags: 'one' }) },
  },
}[name];

const yoga = createYoga({
  schema: createSchema({ typeDefs: sdl, resolvers }),
  maskedErrors: false,
  logging: false,
  graphiql: false,
});
serveCounting(yoga);
