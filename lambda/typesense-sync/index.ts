import { requireEnv } from '../shared/env';
import { NotImplementedError } from '../shared/errors';
import { createLogger } from '../shared/log';
import { applyInOrder, createStreamHandler } from '../shared/runner';
import { owns } from '../subsystems';

const logger = createLogger('typesense-sync');
requireEnv('TYPESENSE_QUEUE_URL');

export const handler = createStreamHandler(
  {
    name: 'typesense-sync',
    owns: (keys) => owns('typesense-sync', keys),
    apply: (changes) =>
      applyInOrder(changes, async () => {
        throw new NotImplementedError('typesense-sync actions');
      }),
  },
  logger,
);
