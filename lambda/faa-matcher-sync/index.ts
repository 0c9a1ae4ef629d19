import { requireEnv } from '../shared/env';
import { NotImplementedError } from '../shared/errors';
import { createLogger } from '../shared/log';
import { applyInOrder, createStreamHandler } from '../shared/runner';
import { owns } from '../subsystems';

const logger = createLogger('faa-matcher-sync');
requireEnv('TABLE_NAME');

export const handler = createStreamHandler(
  {
    name: 'faa-matcher-sync',
    owns: (keys) => owns('faa-matcher-sync', keys),
    apply: (changes) =>
      applyInOrder(changes, async () => {
        throw new NotImplementedError('matcher counts');
      }),
  },
  logger,
);
