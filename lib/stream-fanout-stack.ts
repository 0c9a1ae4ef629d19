import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { SUBSYSTEM_NAMES } from '../lambda/subsystems';
import { pascalId } from './construct-ids';
import { KinesisSource } from './sources/kinesis';
import { StreamFanout, type StreamFanoutProps } from './stream-fanout';

export interface StreamFanoutStackProps extends StackProps, StreamFanoutProps {}

/** The stack `cdk deploy` creates from this repository: a StreamFanout and its outputs. */
export class StreamFanoutStack extends Stack {
  readonly fanout: StreamFanout;

  constructor(scope: Construct, id: string, props: StreamFanoutStackProps = {}) {
    super(scope, id, props);
    // 'Default' is left out of logical IDs: resources keep the IDs they had as direct stack children.
    this.fanout = new StreamFanout(this, 'Default', props);

    for (const name of SUBSYSTEM_NAMES) {
      new CfnOutput(this, `${pascalId(name)}FunctionName`, { value: this.fanout.functions[name].function.functionName });
    }
    if (this.fanout.indexer) new CfnOutput(this, 'TypesenseIndexerFunctionName', { value: this.fanout.indexer.fn.function.functionName });
    new CfnOutput(this, 'SearchActionsQueueUrl', { value: this.fanout.searchQueue.queueUrl });
    new CfnOutput(this, 'SearchActionsDlqUrl', { value: this.fanout.searchDlq.queueUrl });
    new CfnOutput(this, 'StreamFailureBucketName', { value: this.fanout.failureBucket.bucketName });
    if (this.fanout.edgeFailureBucket) new CfnOutput(this, 'EdgeFailureBucketName', { value: this.fanout.edgeFailureBucket.bucketName });
    if (this.fanout.domainEvents) {
      new CfnOutput(this, 'DomainEventsFunctionName', { value: this.fanout.domainEvents.fn.function.functionName });
      new CfnOutput(this, 'DomainEventsBusArn', { value: this.fanout.domainEvents.eventBus.eventBusArn });
    }
    if (this.fanout.auditTrail) {
      new CfnOutput(this, 'AuditTrailFunctionName', { value: this.fanout.auditTrail.fn.function.functionName });
      new CfnOutput(this, 'AuditTrailHistoryTableName', { value: this.fanout.auditTrail.historyTable.tableName });
      if (this.fanout.auditTrail.kmsKey) new CfnOutput(this, 'AuditTrailKeyArn', { value: this.fanout.auditTrail.kmsKey.keyArn });
    }
    if (this.fanout.source instanceof KinesisSource) new CfnOutput(this, 'ChangeStreamArn', { value: this.fanout.source.stream.streamArn });
  }
}
