// ONNX Runtime worker of tests/bench/bench_all.py (onnxruntime-node, CPU).
//
//   node worker.js MODEL.onnx SIZE THREADS IN.f32 OUT.f32
//
// Reads the input (3 x SIZE x SIZE floats, planar), runs one pass at
// t = 500 and writes its eps to OUT.f32, prints one line of JSON
// ({"ready": ...}), then answers bench_worker.c's commands on stdin:
// "run N" times N passes ({"times": [...], "cpu": [...]}), "quit" exits.
'use strict';
const fs = require('fs');
const readline = require('readline');
const ort = require('onnxruntime-node');

async function main() {
  const [modelPath, sizeArg, threadsArg, inPath, outPath] = process.argv.slice(2);
  const size = parseInt(sizeArg, 10), threads = parseInt(threadsArg, 10);
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const buf = fs.readFileSync(inPath);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const c = data.length / (size * size);
  const feeds = {
    x: new ort.Tensor('float32', data, [1, c, size, size]),
    t: new ort.Tensor('float32', new Float32Array([500]), [1]),
  };
  const first = await session.run(feeds);
  const eps = first.eps.data;
  fs.writeFileSync(outPath, Buffer.from(eps.buffer, eps.byteOffset, eps.byteLength));
  process.stdout.write(JSON.stringify({ ready: 'onnxruntime-node ' + require('onnxruntime-node/package.json').version }) + '\n');
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line.startsWith('quit')) break;
    const m = /^run (\d+)/.exec(line);
    if (!m) {
      process.stderr.write('worker.js: bad command: ' + line + '\n');
      process.exit(2);
    }
    const times = [], cpu = [];
    for (let i = 0; i < parseInt(m[1], 10); i++) {
      const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
      await session.run(feeds);
      const dc = process.cpuUsage(c0);
      times.push(Number(process.hrtime.bigint() - t0) * 1e-9);
      cpu.push((dc.user + dc.system) * 1e-6);
    }
    process.stdout.write(JSON.stringify({ times, cpu }) + '\n');
  }
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write('worker.js: ' + (e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
