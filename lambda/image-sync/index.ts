import { requireEnv } from '../shared/env';
import { NotImplementedError } from '../shared/errors';
import { createLogger } from '../shared/log';
import { applyInOrder, createStreamHandler } from '../shared/runner';
import { owns } from '../subsystems';

const logger = createLogger('image-sync');
requireEnv('TABLE_NAME');

export const handler = createStreamHandler(
  {
    name: 'image-sync',
    owns: (keys) => owns('image-sync', keys),
    apply: (changes) =>
      applyInOrder(changes, async () => {
        throw new NotImplementedError('default-image reconciliation');
      }),
  },
  logger,
);
