import { Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { streamMappingProps, type ChangeSource, type MappingEventSource, type MappingRequest } from './change-source';

/** The table's own stream: each function's mapping is one more reader of every shard. */
export class DynamoStreamsSource implements ChangeSource {
  readonly kind = 'dynamodb-streams' as const;

  constructor(private readonly table: dynamodb.ITable) {}

  eventSource(request: MappingRequest): MappingEventSource {
    return new DynamoEventSource(this.table, streamMappingProps(request, request.filters));
  }

  acknowledgeReader(role: iam.IRole): void {
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'dynamodb:ListStreams (granted by the DynamoDB event source) does not support resource-level permissions.',
    });
  }
}
