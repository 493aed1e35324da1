export * from './group.js';
export * from './common.js';
export * from './flannel-network.js';
export * from './subnet-lease.js';
export * from './names.js';
export * from './parse.js';
export * from './wireguard-key.js';
