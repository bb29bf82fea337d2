// import()ed by the workflow client on first use: a file of its own in the bundle (lib/bundling.ts),
// not read at init; it names the few commands the client sends.
export { SFNClient, SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
