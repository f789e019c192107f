/**
 * The helper that wraps every executor's command, so that stdin, stdout and
 * stderr files work in images without a shell.
 *
 * A static busybox (Debian's `busybox-static`) is mounted read-only into
 * the container and used as its entrypoint. It runs {@link HELPER_SCRIPT}
 * with its own `sh`, which:
 * 1. creates the workdir when missing and enters it;
 * 2. checks that the stdin file is readable and the stdout and stderr files
 *    can be created, creating their parent directories;
 * 3. finds the command in the image's PATH (see below);
 * 4. runs the command with stdin from the stdin file, or /dev/null, and
 *    stdout and stderr into two pipes, each read by a `tee` that writes the
 *    log file in the log directory and, when set, the task's own file;
 * 5. forwards SIGTERM, SIGINT and SIGHUP to the command, so a stop ends it
 *    at once instead of after the grace period;
 * 6. records the exit code, and `OOMKilled` when the memory cgroup's
 *    `oom_kill` counter grew, then exits with the command's exit code.
 *
 * A failure before the command runs is written to the stderr log as a line
 * starting with `poiesis:`, with exit code 1 for a stdin, stdout, stderr or
 * workdir problem and 127 for a command that is not found.
 *
 * The command is found by searching PATH in the script and is then run by
 * its absolute path, with argv[0] as given. Debian's busybox-static prefers
 * its own applets over PATH for a name without a slash, so `ls` would
 * otherwise run busybox's `ls` instead of the image's.
 *
 * The script's variables start with `_poiesis_` because a variable of the
 * task's environment with the same name would be changed for the command.
 */
import type { TesExecutor } from '../tes/schemas.js';

/** Files the helper writes into its log directory. */
export const HELPER_FILES = {
  stdout: 'stdout',
  stderr: 'stderr',
  /** The command's exit code, as decimal text. */
  exitCode: 'exit-code',
  /** `OOMKilled` when the memory limit killed a process of the container; absent otherwise. */
  reason: 'reason',
} as const;

/** Container paths of the helper binary and of its log directory. */
export interface HelperPaths {
  /** Container path of the static busybox binary. */
  busybox: string;
  /** Writable container directory for the log files and pipes of this executor. */
  logDirectory: string;
}

/** Name the helper script runs as (`$0`), which the shell puts before its own errors. */
const SCRIPT_NAME = 'poiesis-exec';

/**
 * The script run by `busybox sh -c`. Positional parameters: busybox path,
 * log directory, workdir, stdin, stdout, stderr (empty when unset), then
 * the command and its arguments.
 */
export const HELPER_SCRIPT = [
  '_poiesis_bb=$1 _poiesis_log=$2 _poiesis_workdir=$3',
  '_poiesis_stdin=$4 _poiesis_stdout=$5 _poiesis_stderr=$6',
  'shift 6',
  '_poiesis_fail() {',
  '  printf "poiesis: %s\\n" "$2" >>"$_poiesis_log/stderr"',
  '  printf "%s\\n" "$1" >"$_poiesis_log/exit-code"',
  '  exit "$1"',
  '}',
  '_poiesis_oom_kills() {',
  '  for _poiesis_file in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do',
  '    if [ -r "$_poiesis_file" ]; then',
  '      while read -r _poiesis_key _poiesis_value; do',
  '        if [ "$_poiesis_key" = oom_kill ]; then echo "$_poiesis_value"; return; fi',
  '      done <"$_poiesis_file"',
  '    fi',
  '  done',
  '  echo 0',
  '}',
  '_poiesis_forward() { "$_poiesis_bb" kill -TERM "$_poiesis_child" 2>/dev/null; }',
  '"$_poiesis_bb" rm -f "$_poiesis_log/exit-code" "$_poiesis_log/reason"',
  ': >"$_poiesis_log/stdout"',
  ': >"$_poiesis_log/stderr"',
  'if [ -n "$_poiesis_workdir" ]; then',
  '  "$_poiesis_bb" mkdir -p "$_poiesis_workdir" 2>/dev/null',
  '  cd "$_poiesis_workdir" 2>/dev/null || _poiesis_fail 1 "cannot enter the workdir $_poiesis_workdir"',
  'fi',
  'for _poiesis_file in "$_poiesis_stdout" "$_poiesis_stderr"; do',
  '  if [ -n "$_poiesis_file" ]; then',
  '    "$_poiesis_bb" mkdir -p "$("$_poiesis_bb" dirname "$_poiesis_file")" 2>/dev/null',
  '    ( : >"$_poiesis_file" ) 2>/dev/null ||',
  '      _poiesis_fail 1 "cannot create $_poiesis_file; check that its directory is writable"',
  '  fi',
  'done',
  'if [ -n "$_poiesis_stdin" ]; then',
  '  if [ -d "$_poiesis_stdin" ] || ! ( : <"$_poiesis_stdin" ) 2>/dev/null; then',
  '    _poiesis_fail 1 "cannot read the stdin file $_poiesis_stdin; check that an input or volume provides it"',
  '  fi',
  'fi',
  '_poiesis_name=$1',
  'shift',
  'case $_poiesis_name in',
  '  */*) _poiesis_cmd=$_poiesis_name ;;',
  '  *)',
  '    _poiesis_cmd=',
  '    _poiesis_rest=${PATH-/bin:/usr/bin}:',
  '    while [ -n "$_poiesis_rest" ]; do',
  '      _poiesis_dir=${_poiesis_rest%%:*}',
  '      _poiesis_rest=${_poiesis_rest#*:}',
  '      if [ -f "${_poiesis_dir:-.}/$_poiesis_name" ] && [ -x "${_poiesis_dir:-.}/$_poiesis_name" ]; then',
  '        _poiesis_cmd=${_poiesis_dir:-.}/$_poiesis_name',
  '        break',
  '      fi',
  '    done',
  '    if [ -z "$_poiesis_cmd" ]; then',
  '      _poiesis_fail 127 "$_poiesis_name: command not found in PATH ${PATH-}"',
  '    fi',
  '    ;;',
  'esac',
  '_poiesis_oom_before=$(_poiesis_oom_kills)',
  '"$_poiesis_bb" rm -f "$_poiesis_log/stdout.pipe" "$_poiesis_log/stderr.pipe"',
  '"$_poiesis_bb" mkfifo "$_poiesis_log/stdout.pipe" "$_poiesis_log/stderr.pipe" ||',
  '  _poiesis_fail 1 "cannot create the log pipes in $_poiesis_log"',
  '"$_poiesis_bb" tee "$_poiesis_log/stdout" ${_poiesis_stdout:+"$_poiesis_stdout"} \\',
  '  <"$_poiesis_log/stdout.pipe" >/dev/null &',
  '"$_poiesis_bb" tee "$_poiesis_log/stderr" ${_poiesis_stderr:+"$_poiesis_stderr"} \\',
  '  <"$_poiesis_log/stderr.pipe" >/dev/null &',
  '(',
  // The command becomes the first victim of the OOM killer, so this script survives to record it.
  '  { echo 1000 >/proc/self/oom_score_adj; } 2>/dev/null || :',
  '  if [ -n "$_poiesis_stdin" ]; then exec <"$_poiesis_stdin"; fi',
  '  exec -a "$_poiesis_name" "$_poiesis_cmd" "$@"',
  ') >"$_poiesis_log/stdout.pipe" 2>"$_poiesis_log/stderr.pipe" &',
  '_poiesis_child=$!',
  'trap _poiesis_forward TERM INT HUP',
  // A trapped signal interrupts `wait` while the command still runs, so wait again until it is gone.
  'wait "$_poiesis_child"',
  '_poiesis_code=$?',
  'while "$_poiesis_bb" kill -0 "$_poiesis_child" 2>/dev/null; do',
  '  wait "$_poiesis_child"',
  '  _poiesis_code=$?',
  'done',
  'wait',
  '"$_poiesis_bb" rm -f "$_poiesis_log/stdout.pipe" "$_poiesis_log/stderr.pipe"',
  'if [ "$(_poiesis_oom_kills)" != "$_poiesis_oom_before" ]; then',
  '  echo OOMKilled >"$_poiesis_log/reason"',
  'fi',
  'printf "%s\\n" "$_poiesis_code" >"$_poiesis_log/exit-code"',
  'exit "$_poiesis_code"',
].join('\n');

/**
 * The container's arguments after the entrypoint, which must be the
 * busybox at `paths.busybox`.
 */
export function helperArguments(executor: TesExecutor, paths: HelperPaths): string[] {
  return [
    'sh',
    '-c',
    HELPER_SCRIPT,
    SCRIPT_NAME,
    paths.busybox,
    paths.logDirectory,
    executor.workdir ?? '',
    executor.stdin ?? '',
    executor.stdout ?? '',
    executor.stderr ?? '',
    ...executor.command,
  ];
}
