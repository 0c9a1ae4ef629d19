// Test-run defaults; an explicit value in the environment wins.
// aws-cdk-lib's built-in CloudFormation validator costs ~2 s per synth: one test turns it back on.
process.env.CDK_VALIDATION ??= 'false';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Powertools logs go to stdout; keep test output readable unless asked (POWERTOOLS_LOG_LEVEL=DEBUG npm test).
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
// Entry tests load index.ts, whose module-scope Metrics would print EMF into jest's output; test/metrics turns them back on.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
