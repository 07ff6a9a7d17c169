#!/bin/bash
# The CUDA checks in one call, on a GPU machine that has its own torch but no
# network and no OpenMMLab stack: installs carried wheels into /tmp/site,
# builds mmcv 2.1.0's CPU ops against that torch (GPU hidden during the build;
# mmsimmm's models use no mmcv op), then runs benchmarks/cuda_check.py and
# benchmarks/cost.py on the GPU (fp32 and AMP bf16). Results go to $OUT.
#
#   WHEELS=.whl OUT=/tmp/out bash benchmarks/run_cuda_checks.sh
#
# WHEELS holds cp312 (or the machine's) wheels of numpy 1.26.4, mmengine,
# mmsegmentation, mmpretrain and their small pure-Python dependencies (addict,
# yapf, platformdirs, termcolor, prettytable, wcwidth, ftfy, mat4py,
# modelindex), plus the mmcv-2.1.0.tar.gz sdist (`pip download --no-deps`).
set -u
WHEELS=${WHEELS:-.whl}
OUT=${OUT:-/tmp/mmsimmm_cuda_checks}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
  --upgrade --target /tmp/site "$WHEELS"/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
if ! python3 -c "import cv2, scipy.ndimage, matplotlib.pyplot" 2>/tmp/np.err; then
  echo "numpy 1.26 breaks this image's packages; keeping its numpy:"; tail -3 /tmp/np.err
  rm -rf /tmp/site/numpy /tmp/site/numpy-*; export MMSIMMM_SKIP_VERSION_CHECK=1
fi
python3 -c "import numpy, torch; print('numpy', numpy.__version__, 'torch', torch.__version__, torch.cuda.get_device_name())" || exit 1
if ! python3 -c "import mmcv.ops" 2>/dev/null; then
  rm -rf /tmp/mmcv && mkdir -p /tmp/mmcv && tar xzf "$WHEELS"/mmcv-2.1.0.tar.gz -C /tmp/mmcv
  if ! (cd /tmp/mmcv/mmcv-2.1.0 && CUDA_VISIBLE_DEVICES= CFLAGS="-O1 -g0" MMCV_WITH_OPS=1 \
        FORCE_CUDA=0 MAX_JOBS="$(nproc)" timeout 330 python3 -m pip wheel -q --no-index \
        --no-deps --no-build-isolation -w /tmp/mmcv/wheel . > /tmp/mmcv/build.log 2>&1); then
    echo "mmcv ops build failed or took over 330 s:"; grep -i -m5 error /tmp/mmcv/build.log
    tail -5 /tmp/mmcv/build.log; exit 1
  fi
  python3 -m pip install -q --no-index --no-deps --target /tmp/site /tmp/mmcv/wheel/*.whl || exit 1
fi
echo "set-up took $(( $(date +%s) - T0 )) s"
python3 -c "import mmsimmm, mmcv.ops, mmseg.models; print('stack ok')" || exit 1
python3 -c "import mmpretrain.models" 2>&1 | tail -2
timeout 200 python3 benchmarks/cuda_check.py --work-dir /tmp/cuda_check \
  --json "$OUT/cuda_check.json" 2>&1 | grep -v -iE "warn|deprecat" | tee "$OUT/cuda_check.log"
for args in "--tasks seg --step-size 512 1024" \
            "--tasks seg --step-size 512 1024 --amp bfloat16" "--tasks cls --batch 32"; do
  name=$(echo "$args" | tr -d ' -')
  timeout 100 python3 benchmarks/cost.py --device cuda --repeats 10 $args \
    --json "$OUT/cost_$name.json" 2>&1 | grep -v -iE "warn|deprecat" | tee "$OUT/cost_$name.log"
done
echo "total $(( $(date +%s) - T0 )) s"
