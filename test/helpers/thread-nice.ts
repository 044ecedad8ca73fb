// Each thread of a process with its name and nice value, from /proc (Linux).
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadNice {
  tid: number;
  name: string;
  nice: number;
}

export function threadNices(pid: number | 'self'): ThreadNice[] {
  const dir = `/proc/${pid}/task`;
  return readdirSync(dir).map((tid) => {
    const stat = readFileSync(`${dir}/${tid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, nice is field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { tid: Number(tid), name: readFileSync(`${dir}/${tid}/comm`, 'utf8').trim(), nice: Number(fields[16]) };
  });
}
