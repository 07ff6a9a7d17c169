#!/usr/bin/env bash
# bash tools/dist_train.sh CONFIG NPROC [train.py args...]
# NPROC processes on this node (one per GPU; on a machine without CUDA they
# train on the CPU over gloo). NNODES, NODE_RANK, MASTER_ADDR, PORT: several
# nodes; PYTHON: the interpreter (default: python on PATH).
set -e
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
