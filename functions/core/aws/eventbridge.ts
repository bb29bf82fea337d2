// import()ed by the adapter on first use: a file of its own in the bundle (lib/bundling.ts), not read
// at init. import() of the package itself would keep all of its exports (every command) in the
// bundle; this module names the few the adapter uses.
export { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
