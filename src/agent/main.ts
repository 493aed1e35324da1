// Entry point of the agent role; replaced by the real implementation.
export async function main(_argv: string[]): Promise<number> {
  throw new Error('agent: not implemented yet');
}
