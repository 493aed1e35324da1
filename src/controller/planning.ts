/**
 * What a pass computes with, beyond the caches: the planner and the lease checks. They pull in
 * the API schemas (zod), CIDR pools and peer rules, ~0.1 s of module loading, so
 * NetworkController.start() imports this module while its first lists wait for the API server
 * instead of before them.
 */
export { leaseObject, planNetwork, prepareNetworks } from './plan.js';
export { rejectLeases } from './lease-checks.js';
