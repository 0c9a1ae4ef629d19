/** Help text of each command (`ops <command> --help`). */
export const COMMON = `Common options:
  --table NAME              the table (required)
  --endpoint URL            DynamoDB (and Streams) endpoint, e.g. DynamoDB Local; default: AWS.
                            With it no AWS configuration is needed: region us-east-1 and dummy
                            credentials are used when none are configured
  --region REGION           default: the SDK's standard resolution (AWS_REGION, profile)
  --json                    print one JSON document on stdout and nothing else (logs go to stderr)
  --verbose                 log the reconcile paths' info lines to stderr
  --help                    this text
Credentials and the SQS endpoint come from the SDK's standard resolution (env, profile, AWS_ENDPOINT_URL_SQS).
Exit status: 0 all is well; 1 drift found or some keys failed; 2 usage error; 3 could not run
(credentials, region, endpoint, table, queue, bucket, permissions). Errors are one line starting "ops: ".`;

export const HELP: Record<string, string> = {
  main: `Usage: npm run ops -- <command> [options]   (or: stream-fanout-ops <command> [options])

Commands:
  audit       report every violation of I1-I3 by key (read-only unless --repair)
  backfill    trigger every key of the table through the subsystems' reconcile paths
  redrive     trigger the keys of stream failures (S3 on-failure objects, or an SQS metadata DLQ)
  takeover    prepare a table whose matcher counts another worker made (see backfill --takeover)
  history     one item's changes from the audit trail's history table, newest first

Run "npm run ops -- <command> --help" for a command's options.`,
  audit: `Usage: ops audit --table NAME [options]

Scans the table in parallel segments and reports every violation of I1 (search), I2 (default
image pointers) and I3 (matcher counts) by key. Every finding is re-checked once against strongly
consistent reads of the partitions that decide it, so writes still draining through the stream
are not reported; run it on a quiet or drained table for a definitive answer.

  --segments N              parallel scan segments (default 4)
  --rate N                  read at most N items per second (default: unlimited)
  --only I1,I2,I3           invariants to check (default: all)
  --typesense-url URL       check I1 against this Typesense server (export of each collection);
                            without it, the projection's document count per collection is printed
  --typesense-api-key-env VAR  name of the environment variable holding the API key (never the key itself)
  --repair                  repair the confirmed drift: a matcher count that disagrees with its
                            contribution rows is recounted first, then pointers and links are
                            reconciled in process and search triggers (origin "repair") sent to
                            --queue-url; what cannot be repaired safely is left untouched and named;
                            the touched keys are audited again: exit 0 only when they are clean
  --queue-url URL           the search queue (FIFO), needed by --repair for I1 findings

With --json: {"findings":[{"invariant","pk","sk","problem",("collection","id")}],"checked":{...}}

${COMMON}`,
  backfill: `Usage: ops backfill --table NAME [options]

Triggers every key of the table through each subsystem that accepts it: search triggers (origin
"backfill") to --queue-url, pointers and counts reconciled in process. Safe while the table takes
writes and the stream runs (every reconcile reads the truth and conditions its writes on it).

  --subsystems LIST         typesense-sync,image-sync,faa-matcher-sync (default: all)
  --queue-url URL           the search queue (FIFO); required when typesense-sync is included
  --segments N              parallel scan segments (default 4)
  --rate N                  read at most N keys per second (default: unlimited)
  --page-size N             keys per scan page (default: DynamoDB's 1 MB pages)
  --checkpoint FILE         resume from FILE and keep it up to date (each segment's position and
                            every key that failed, written atomically after each page). Running
                            the same command again retries the failed keys first, then scans on;
                            it exits 0 only once none still fails. Resume with the same
                            --segments, --subsystems and --takeover (or delete FILE to start over)
  --max-failed-keys N       stop scanning (keys kept) once N keys are failing (default 1000)
  --failed-keys FILE        write every key still failing to FILE (JSON lines); the report names
                            the first 100
  --dry-run                 count what would be triggered; write nothing (no --checkpoint)
  --takeover                after a complete pass in which every key reconciled, release the
                            legacy counts that "ops takeover prepare" snapshotted (matcher
                            takeover, step 4); refused (exit 1) while any key fails

${COMMON}`,
  redrive: `Usage: ops redrive --table NAME (--from SOURCE | --dlq-url URL) [options]

  --from s3://BUCKET/PREFIX S3 on-failure objects (invocation record + payload); also
  --from file:///DIR | DIR  a local folder with the same key layout (the local emulator's stand-in)
  --s3-endpoint URL         S3-compatible endpoint (path-style addressing)
  --keep                    tag (S3: redriven=<run>) or mark (folder: <object>.redriven) instead of deleting
  --dlq-url URL             SQS DLQ of metadata messages (shard + sequence range); the range is
                            re-read from the stream while it retains it, else reported (exit 1)
  --subsystems LIST         subsystems to trigger (default: all)
  --queue-url URL           the search queue (FIFO); required when typesense-sync is included
  --dry-run                 read and count; trigger, delete and tag nothing

An object or message is removed only when every one of its keys reconciled.

${COMMON}`,
  takeover: `Usage: ops takeover prepare --table NAME [options]

Matcher takeover from another worker that already counted the links (tuples exist, no
contribution rows). Procedure:
  1. stop the old worker;
  2. ops takeover prepare   snapshot each tuple's count into legacy_count (refuses when
                            contribution rows exist: this matcher already counts);
  3. deploy this matcher (its stream mapping starts counting changes);
  4. ops backfill --takeover --subsystems faa-matcher-sync --checkpoint FILE
                            reconcile every link, then subtract legacy_count from each tuple
                            (only once every link reconciled; run it again until it exits 0).

Upgrading from 0.1.0 after it took over itself (it counted some links without contribution
rows): stop its matcher mapping too, then run step 2 with --subtract-contributions, which
snapshots count minus the contribution rows naming each tuple.

  --subtract-contributions  existing contribution rows belong to a stopped matcher: subtract
                            them instead of refusing
  --segments N              parallel scan segments (default 4)
  --rate N                  read at most N items per second (default: unlimited)

${COMMON}`,
  history: `Usage: ops history --table HISTORY_TABLE --pk PK --sk SK [options]

Prints one item's changes from the audit trail's history table (not the source table), newest
first: event (insert, modify, remove, expire), change time, eventID, sequence number and each
changed field. Personal fields print as <encrypted> (or <hmac ...> in hash mode).

  --pk PK --sk SK           the item's keys in the source table (required)
  --limit N                 at most N changes (default 20)
  --decrypt                 decrypt personal fields with the row's data key: needs kms:Decrypt
                            on the audit trail's KMS key (without it: one line, exit 3)
  --key-file FILE           with --decrypt: the local key file standing in for KMS (npm start)

With --json: {"pk","sk","changes":[{"changeTime","event","eventID","sequenceNumber","rowKind",
("omitted"),"fields":[{"field","change",("old"),("new")}]}]}

${COMMON}`,
};
