// One of the services of the type-merging option tests (left, right, lists, people, profiles,
// catalog, stock), served by
// graphql-yoga on 127.0.0.1:0 with its SDL from test-support/js/parity/<name>.graphql; it counts
// and logs the GraphQL requests it receives (counting-server.mjs).
// Usage: node parity-subgraph.mjs <name>. Prints `LISTENING <port>`.
import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { serveCounting } from './counting-server.mjs';
import { stitchingDirectives } from '@graphql-tools/stitching-directives';

const name = process.argv[2];
const own = readFileSync(new URL(`./parity/${name}.graphql`, import.meta.url), 'utf8');
// SDL with the stitching directives gets their definitions.
const sdl = /@(key|merge)\b/.test(own) ? `${stitchingDirectives().stitchingDirectivesTypeDefs}\n${own}` : own;

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
  // Books and movies, behind the interface `Item`.
  catalog: {
    Query: {
      items: () => [
        { __typename: 'Book', id: 'b1', title: 'Dune', author: 'Herbert' },
        { __typename: 'Movie', id: 'm1', title: 'Alien', director: 'Scott' },
        { __typename: 'Book', id: 'b2', title: 'Emma', author: 'Austen' },
        { __typename: 'Movie', id: 'm2', title: 'Heat', director: 'Mann' },
      ],
    },
    Item: { __resolveType: (item) => item.__typename },
  },
  // Stock of books by key objects `{ id, name }` and a warehouse; of movies by id. Book `b2`
  // has no known stock (an error).
  stock: {
    Query: {
      _books: (_, { keys, warehouse }) =>
        keys.map((k) => ({ id: k.id, title: k.name, inStock: k.id === 'b1', warehouse })),
      _movies: (_, { ids }) => ids.map((id) => ({ id, inStock: id !== 'm2' })),
    },
    Item: { __resolveType: (item) => (item.id.startsWith('b') ? 'Book' : 'Movie') },
    Book: {
      inStock: (book) => {
        if (book.id === 'b2') throw new GraphQLError(`no stock known for ${book.title}`);
        return book.inStock;
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
