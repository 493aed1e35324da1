// client-node-auth.ts is left out on purpose: importing it loads @kubernetes/client-node.
export * from './auth.js';
export * from './kubeconfig.js';
export * from './client.js';
export * from './resources.js';
export * from './backoff.js';
export * from './informer.js';
export * from './workqueue.js';
export * from './leader.js';
export * from './selector.js';
export * from './limit.js';
export * from './apply.js';
export * from './events.js';
