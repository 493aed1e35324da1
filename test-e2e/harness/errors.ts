/** Errors of the test harness, with stable codes. */

export class ControlPlaneError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
}
