// Entry point of the controller role; replaced by the real implementation.
export async function main(_argv: string[]): Promise<number> {
  throw new Error('controller: not implemented yet');
}
