export { StreamFanout, type StreamFanoutProps } from './stream-fanout';
export { StreamFanoutStack, type StreamFanoutStackProps } from './stream-fanout-stack';
export type { IndexerOptions } from './indexer';
export { DEFAULT_MAPPING_SETTINGS, type StreamMappingSettings } from './mapping-settings';
export { ConfigError, LOG_LEVELS, type LogLevel } from './config';
export { CUSTOM_METRICS } from './dashboard';
export { METRICS_NAMESPACE } from './stream-function';
export { FUNCTION_NAMES, type FunctionName } from './function-names';
