// Entry point of `flannel-operator status`; replaced by the real implementation.
export async function main(_argv: string[]): Promise<number> {
  throw new Error('status: not implemented yet');
}
