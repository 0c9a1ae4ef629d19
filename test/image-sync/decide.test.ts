import fc from 'fast-check';
import { StreamRecordError } from '../../lambda/shared/errors';
import { ruleMatches } from '../../lambda/shared/key-rules';
import { streamTrigger, toolTriggers, type Trigger } from '../../lambda/shared/trigger';
import { decodeRecord } from '../../lambda/shared/decode';
import { entityOfKey, isImageSyncKey } from '../../lambda/image-sync/entity';
import { DEFAULT_SK, defaultPointerKey, imagePartitionKey, type ImageEntity } from '../../lambda/image-sync/keys';
import { IMAGE_KEY_RULES } from '../../lambda/image-sync/ownership';
import {
  decide,
  differingFields,
  i2Violations,
  needsPointedRead,
  pointerAttributes,
  sourceCheck,
  type Action,
  type ImageRow,
  type PointerRow,
  type ReconcileState,
} from '../../lambda/image-sync/reconcile';
import { backoffDelay, classifyWriteError, DEFAULT_BACKOFF } from '../../lambda/image-sync/retry';
import { removeRecord } from '../support/events';

const img = (n: number, overrides: Record<string, unknown> = {}): ImageRow => ({
  SK: `IMG#${String(n).padStart(4, '0')}`,
  image_id: `id-${n}`,
  url: `https://x/${n}.jpg`,
  thumbnail_url: `https://x/${n}-t.jpg`,
  caption: `c${n}`,
  ...overrides,
});
const pointerTo = (image: ImageRow, updatedAt = '2026-01-01T00:00:00.000Z'): PointerRow => pointerAttributes(image, updatedAt);

describe('decide (DESIGN §4)', () => {
  it('case 1: no images and a pointer -> delete it; no images and no pointer -> nothing', () => {
    const pointer = pointerTo(img(1));
    expect(decide({ pointer })).toEqual({ kind: 'delete', pointer });
    expect(decide({})).toEqual({ kind: 'none', reason: 'no-images' });
  });

  it('case 2: images but no pointer -> create pointing at the newest', () => {
    expect(decide({ newest: img(9) })).toEqual({ kind: 'create', image: img(9) });
  });

  it('case 3: pointer names a missing image -> switch to the newest', () => {
    const pointer = pointerTo(img(3));
    // pointed absent = the named image does not exist
    expect(decide({ newest: img(9), pointer })).toEqual({ kind: 'switch', pointer, image: img(9) });
    // a pointed row that is not the named image does not count as it
    expect(decide({ newest: img(9), pointer, pointed: img(4) })).toEqual({ kind: 'switch', pointer, image: img(9) });
  });

  it('case 3: a pointer whose image_sk is not an image sort key (absent, DEFAULT, garbage) names nothing', () => {
    for (const image_sk of [undefined, DEFAULT_SK, 'IMG#', 42]) {
      const pointer = { ...pointerTo(img(9)), image_sk };
      expect(decide({ newest: img(9), pointer }).kind).toBe('switch');
      expect(needsPointedRead(pointer, img(9))).toBe(false);
    }
  });

  it('case 4: valid pointer with equal fields -> nothing, whatever its updated_at', () => {
    expect(decide({ newest: img(9), pointer: pointerTo(img(9), 'long ago') })).toEqual({ kind: 'none', reason: 'in-sync' });
  });

  it('case 4: valid pointer whose copy differs -> repair exactly the differing fields', () => {
    const pointer = pointerTo(img(9));
    const changed = img(9, { url: 'https://x/new.jpg', caption: undefined });
    expect(decide({ newest: changed, pointer })).toEqual({ kind: 'repair', pointer, image: changed, fields: ['url', 'caption'] });
  });

  it('keeps a pointer to an existing image that is not the newest (a user choice), repairing it against that image', () => {
    const chosen = img(2);
    expect(needsPointedRead(pointerTo(chosen), img(9))).toBe(true);
    expect(decide({ newest: img(9), pointer: pointerTo(chosen), pointed: chosen })).toEqual({ kind: 'none', reason: 'in-sync' });
    const edited = img(2, { thumbnail_url: 'https://x/2-new-t.jpg' });
    expect(decide({ newest: img(9), pointer: pointerTo(chosen), pointed: edited })).toEqual({
      kind: 'repair',
      pointer: pointerTo(chosen),
      image: edited,
      fields: ['thumbnail_url'],
    });
  });

  it('compares display fields only, treating NULL like absent', () => {
    expect(differingFields({ ...pointerTo(img(1)), updated_at: 'x', other: 1 }, img(1))).toEqual([]);
    expect(differingFields({ ...pointerTo(img(1)), caption: null }, img(1, { caption: undefined }))).toEqual([]);
    expect(differingFields(pointerTo(img(1)), img(1, { image_id: 'other' }))).toEqual(['image_id']);
  });

  it('builds the pointer from the image: image_sk, present display fields, updated_at', () => {
    expect(pointerAttributes(img(5, { caption: undefined, thumbnail_url: null, credit: 'x', width: 3 }), 'T')).toEqual({
      image_sk: 'IMG#0005',
      image_id: 'id-5',
      url: 'https://x/5.jpg',
      updated_at: 'T',
    });
  });

  // Property: whatever the state, performing the decided action yields a state where I2 holds.
  it('property: applying the decided action to any state satisfies I2', () => {
    const imageArb = fc.record({
      n: fc.integer({ min: 0, max: 20 }),
      url: fc.constantFrom('a', 'b'),
      caption: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
    });
    const pointerArb = fc.option(
      fc.record({
        image_sk: fc.oneof(fc.integer({ min: 0, max: 20 }).map((n) => `IMG#${String(n).padStart(4, '0')}`), fc.constant('DEFAULT')),
        url: fc.constantFrom('a', 'b'),
        caption: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
        image_id: fc.string({ maxLength: 3 }),
      }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(fc.uniqueArray(imageArb, { selector: (i) => i.n, maxLength: 5 }), pointerArb, (specs, pointer) => {
        const images = specs.map((s) => img(s.n, { url: s.url, caption: s.caption })).sort((a, b) => (a.SK < b.SK ? 1 : -1));
        const newest = images[0];
        const pointed = pointer ? images.find((i) => i.SK === pointer.image_sk) : undefined;
        const state: ReconcileState = { newest, pointer, pointed };
        const after = simulate(pointer, decide(state));
        expect(i2Violations(images, after)).toEqual([]);
        // a pointer to an existing image is never moved
        if (pointed) expect(after?.image_sk).toBe(pointed.SK);
      }),
      { numRuns: 500 },
    );
  });
});

function simulate(pointer: PointerRow | undefined, action: Action): PointerRow | undefined {
  switch (action.kind) {
    case 'none':
      return pointer;
    case 'delete':
      return undefined;
    case 'create':
    case 'switch':
    case 'repair':
      return { ...pointer, ...pointerAttributes(action.image, 'now'), ...clearAbsent(action.image) };
  }
}
const clearAbsent = (image: ImageRow) =>
  Object.fromEntries(['image_id', 'url', 'thumbnail_url', 'caption'].filter((f) => image[f] === undefined).map((f) => [f, undefined]));

describe('i2Violations', () => {
  it('accepts a pointer naming an existing image with equal fields, and no pointer without images', () => {
    expect(i2Violations([img(1), img(2)], pointerTo(img(1)))).toEqual([]);
    expect(i2Violations([], undefined)).toEqual([]);
  });
  it('flags each violation', () => {
    expect(i2Violations([], pointerTo(img(1)))).toHaveLength(1);
    expect(i2Violations([img(1)], undefined)).toHaveLength(1);
    expect(i2Violations([img(1)], pointerTo(img(2)))).toHaveLength(1);
    expect(i2Violations([img(1, { url: 'changed' })], pointerTo(img(1)))).toEqual([expect.stringContaining('url')]);
  });
});

describe('image models and keys', () => {
  const reg: ImageEntity = { orgId: 'SYSTEM', entityType: 'REGISTRATION', entityId: 'N123AB' };
  const icao: ImageEntity = { orgId: 'ORG1', entityType: 'ICAO', entityId: 'B738' };

  it('builds the image partition and pointer keys of DESIGN §2 for both entity types', () => {
    expect(imagePartitionKey(reg)).toBe('IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N123AB');
    expect(imagePartitionKey(icao)).toBe('IMAGES#ORG#ORG1#ENTITY#ICAO#ID#B738');
    expect(defaultPointerKey(icao)).toEqual({ PK: 'IMAGES#ORG#ORG1#ENTITY#ICAO#ID#B738', SK: 'DEFAULT' });
  });

  it('the pointer row is not an owned image row; image rows are', () => {
    for (const entity of [reg, icao]) {
      expect(IMAGE_KEY_RULES.some((rule) => ruleMatches(rule, defaultPointerKey(entity)))).toBe(false);
      expect(IMAGE_KEY_RULES.some((rule) => ruleMatches(rule, { PK: imagePartitionKey(entity), SK: 'IMG#1' }))).toBe(true);
    }
  });
});

describe('entityOfKey and isImageSyncKey', () => {
  const PK = 'IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#A320';
  const repair = (pk: string, sk: string): Trigger => toolTriggers([{ PK: pk, SK: sk }], 'repair', 'run-1')[0]!;

  it('parses the entity from the PK, for image keys and the pointer key; entity_id is the rest (it may hold #)', () => {
    expect(entityOfKey(repair(PK, 'IMG#0001'))).toEqual({ orgId: 'SYSTEM', entityType: 'ICAO', entityId: 'A320' });
    expect(entityOfKey(repair(PK, 'DEFAULT'))).toEqual({ orgId: 'SYSTEM', entityType: 'ICAO', entityId: 'A320' });
    expect(entityOfKey(repair('IMAGES#ORG#O1#ENTITY#REGISTRATION#ID#N1#X', 'IMG#1'))).toEqual({ orgId: 'O1', entityType: 'REGISTRATION', entityId: 'N1#X' });
  });

  it('a REMOVE record without OldImage still names its entity (the images are never read)', () => {
    const record = removeRecord({ PK, SK: 'IMG#0001' });
    delete record.dynamodb!.OldImage;
    expect(entityOfKey(streamTrigger(decodeRecord(record, { images: false })))).toEqual({ orgId: 'SYSTEM', entityType: 'ICAO', entityId: 'A320' });
  });

  it('accepts image and pointer keys of image partitions, nothing else', () => {
    expect(isImageSyncKey({ PK, SK: 'IMG#1' })).toBe(true);
    expect(isImageSyncKey({ PK, SK: 'DEFAULT' })).toBe(true);
    expect(isImageSyncKey({ PK, SK: 'IMG#' })).toBe(false);
    expect(isImageSyncKey({ PK, SK: 'OTHER' })).toBe(false);
    expect(isImageSyncKey({ PK: 'FAA#LINKS', SK: 'IMG#1' })).toBe(false);
  });

  it.each([
    ['unknown entity type', 'IMAGES#ORG#SYSTEM#ENTITY#AIRPORT#ID#KJFK', 'IMG#1', /unknown entity type "AIRPORT"/],
    ['org_id with #', 'IMAGES#ORG#A#B#ENTITY#ICAO#ID#A320', 'IMG#1', /not an entity image partition/],
    ['no entity id', 'IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#', 'IMG#1', /not an entity image partition/],
    ['not an image partition', 'IMAGES#junk', 'DEFAULT', /not an entity image partition/],
    ['neither image nor pointer SK', PK, 'NOTE#1', /not an image-sync key/],
  ])('%s is an error naming the key', (_name, pk, sk, message) => {
    let error: unknown;
    try {
      entityOfKey(repair(pk, sk));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StreamRecordError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(`PK=${pk} SK=${sk}`);
  });
});

describe('sourceCheck (DESIGN §9)', () => {
  it('create, switch and repair check the image they copy; delete checks that the named image is still gone', () => {
    const pointer = pointerTo(img(3));
    expect(sourceCheck({ kind: 'create', image: img(9) })).toEqual({ kind: 'image-as-read', image: img(9) });
    expect(sourceCheck({ kind: 'switch', pointer, image: img(9) })).toEqual({ kind: 'image-as-read', image: img(9) });
    expect(sourceCheck({ kind: 'repair', pointer, image: img(3), fields: ['url'] })).toEqual({ kind: 'image-as-read', image: img(3) });
    expect(sourceCheck({ kind: 'delete', pointer })).toEqual({ kind: 'image-absent', imageSk: 'IMG#0003' });
    expect(sourceCheck({ kind: 'none', reason: 'in-sync' })).toBeUndefined();
  });

  it('a pointer that names no image (image_sk not an image SK) is deleted on the pointer condition alone', () => {
    expect(sourceCheck({ kind: 'delete', pointer: { ...pointerTo(img(3)), image_sk: 'DEFAULT' } })).toBeUndefined();
  });
});

describe('classifyWriteError', () => {
  const canceled = (...codes: string[]) =>
    Object.assign(new Error(`Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`), {
      name: 'TransactionCanceledException',
      CancellationReasons: codes.map((Code) => ({ Code })),
    });

  it('a failed condition names the items that changed (0 = pointer, 1 = image)', () => {
    expect(classifyWriteError(canceled('None', 'ConditionalCheckFailed'))).toEqual({ kind: 'condition', code: 'ConditionalCheckFailed', failed: [1] });
    expect(classifyWriteError(canceled('ConditionalCheckFailed', 'None'))).toMatchObject({ failed: [0] });
    // DynamoDB Local may omit CancellationReasons: the message lists them
    const bare = canceled('None', 'ConditionalCheckFailed') as Error & { CancellationReasons?: unknown };
    delete bare.CancellationReasons;
    expect(classifyWriteError(bare)).toMatchObject({ kind: 'condition', failed: [1] });
  });

  it('conflicts and throttling are retryable; anything else is fatal', () => {
    expect(classifyWriteError(canceled('TransactionConflict', 'None'))).toEqual({ kind: 'retryable', code: 'TransactionConflict' });
    expect(classifyWriteError(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }))).toMatchObject({ kind: 'retryable' });
    expect(classifyWriteError(Object.assign(new Error('x'), { name: 'ProvisionedThroughputExceededException' }))).toMatchObject({ kind: 'retryable' });
    expect(classifyWriteError(canceled('ValidationError', 'None'))).toEqual({ kind: 'fatal', code: 'TransactionCanceled[ValidationError,None]' });
    expect(classifyWriteError(Object.assign(new Error('x'), { name: 'ResourceNotFoundException' }))).toMatchObject({ kind: 'fatal' });
  });

  it('backoff grows exponentially up to the cap, with half of it jittered', () => {
    expect([1, 2, 3, 6].map((n) => backoffDelay(n, DEFAULT_BACKOFF, () => 1))).toEqual([50, 100, 200, 1000]);
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0)).toBe(100);
  });
});
