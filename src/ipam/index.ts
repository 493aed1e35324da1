export * from './errors.js';
export * from './cidr.js';
export * from './config.js';
export * from './pool.js';
export * from './text.js';
export * from './special.js';
