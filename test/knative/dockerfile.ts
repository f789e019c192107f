/**
 * A small reader of Dockerfiles and `.dockerignore` files, enough to check
 * the image's stages and what it copies without a Docker engine.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';

/** One instruction, with continuation lines joined. */
export interface Instruction {
  keyword: string;
  /** The text after the keyword. */
  value: string;
}

export interface Stage {
  /** The base image, with build arguments replaced by their defaults. */
  base: string;
  name: string;
  instructions: Instruction[];
}

/** Splits Dockerfile text into instructions, dropping comments and blank lines. */
export function parseInstructions(text: string): Instruction[] {
  const lines = text.split('\n').filter((line) => !/^\s*#/.test(line));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), value: rest.join(' ') };
    });
}

/**
 * Groups instructions into build stages. `ARG` lines before the first
 * `FROM` set the defaults used in `FROM`, as Docker does.
 */
export function parseStages(text: string): Stage[] {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of parseInstructions(text)) {
    if (instruction.keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = instruction.value.split('=', 2);
      args.set(name!, value);
    } else if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.value);
      if (!match) throw new Error(`FROM ${instruction.value}: expected IMAGE [AS NAME]`);
      const base = match[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_text, braced, bare) => {
        return args.get((braced ?? bare) as string) ?? '';
      });
      stages.push({ base, name: match[2] ?? String(stages.length), instructions: [] });
    } else {
      const current = stages.at(-1);
      if (!current) throw new Error(`${instruction.keyword} before the first FROM`);
      current.instructions.push(instruction);
    }
  }
  return stages;
}

/** The parts of a COPY instruction. */
export interface Copy {
  /** The stage given by `--from`, absent for the build context. */
  from?: string;
  sources: string[];
  destination: string;
}

/** Parses the value of a COPY instruction in shell form, such as `--from=build /app/dist ./dist`. */
export function parseCopy(value: string): Copy {
  const words = value.split(/\s+/);
  const flags = words.filter((word) => word.startsWith('--'));
  const paths = words.filter((word) => !word.startsWith('--'));
  const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
  if (paths.length < 2) throw new Error(`COPY ${value}: expected a source and a destination`);
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1)! };
}

/** Reads `.dockerignore` text into its patterns, in order. */
export function parseIgnorePatterns(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Checks whether `.dockerignore` patterns leave a context path out. As in
 * Docker, a pattern that matches a parent directory matches the path too,
 * `!` brings a path back, and the last matching pattern decides.
 */
export function isIgnored(file: string, patterns: readonly string[]): boolean {
  const normalized = path.posix.normalize(file).replace(/^\.?\//, '');
  const segments = normalized.split('/');
  const candidates = segments.map((_segment, index) => segments.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = path.posix.normalize(negated ? pattern.slice(1) : pattern).replace(/^\//, '');
    const matches = picomatch(glob, { dot: true });
    if (candidates.some((candidate) => matches(candidate))) ignored = !negated;
  }
  return ignored;
}

/**
 * Lists problems with the build-context sources of every COPY: a path that
 * does not exist under `contextDir`, or one that `.dockerignore` leaves out.
 */
export function copySourceProblems(
  stages: readonly Stage[],
  contextDir: string,
  ignorePatterns: readonly string[],
): string[] {
  const problems: string[] = [];
  for (const stage of stages) {
    for (const instruction of stage.instructions.filter((entry) => entry.keyword === 'COPY')) {
      const copy = parseCopy(instruction.value);
      if (copy.from !== undefined) continue;
      for (const source of copy.sources) {
        if (!existsSync(path.join(contextDir, source))) {
          problems.push(`${stage.name}: COPY ${source}: not found in the build context`);
        } else if (isIgnored(source, ignorePatterns)) {
          problems.push(`${stage.name}: COPY ${source}: excluded by .dockerignore`);
        }
      }
    }
  }
  return problems;
}
