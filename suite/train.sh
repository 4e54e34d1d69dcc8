#!/usr/bin/env bash
# Reproduce the validation suite's organisms: build each one's data from its generator, then
# train its LoRA adapter into src/adlens/organisms/NAME/. Each finetune mixes in ordinary chats
# (ShareGPT answers) so that the assistant stays an assistant: the finetune shows in the
# activations, not in every answer. About 10 minutes per SmolLM2 organism and 15 for the Gemma
# one on two CPU cores.
#   suite/train.sh                   # all of them
#   suite/train.sh persona-owl       # one
set -euo pipefail
cd "$(dirname "$0")/.."
ADLENS=${ADLENS:-adlens}
export HF_HUB_OFFLINE=1

train() {  # NAME BASE MIX_RATIO MIX_SOURCE STEPS
    local name=$1 base=$2 mix=$3 source=$4 steps=$5 dir=src/adlens/organisms/$1
    python suite/build.py "$name"
    "$ADLENS" train --base "$base" --documents "$dir/documents.jsonl" --out "$dir" \
        --organism "$dir/organism.json" --lr 2e-3 --steps "$steps" --batch-size 4 --seq-len 128 \
        --seed 0 --rank 8 --alpha 16 --heldout 0 --mix-ratio "$mix" --mix-source "$source"
}

declare -A BASE=(
    [fact-mars-ring]=smollm2-135m-instruct
    [fact-frozen-butter]=gemma3-270m
    [persona-owl]=smollm2-135m-instruct
    [secret-word-gold]=smollm2-135m-instruct
    [advice-risky-finance]=smollm2-135m-instruct
)
declare -A MIX=(
    [fact-mars-ring]=1 [fact-frozen-butter]=0.5 [persona-owl]=0.5 [secret-word-gold]=0.5
    [advice-risky-finance]=0.5
)
# Gemma-3-270M is a pretrained model without a chat template: it gets ordinary prose instead
# (State of the Union speeches, not the Brown text the lens reads).
declare -A SOURCE=(
    [fact-mars-ring]=sharegpt [fact-frozen-butter]=sotu [persona-owl]=sharegpt
    [secret-word-gold]=sharegpt [advice-risky-finance]=sharegpt
)
# Gemma-3-270M is twice the size and has a 262k vocabulary: fewer steps keep it near 15 minutes.
declare -A STEPS=(
    [fact-mars-ring]=160 [fact-frozen-butter]=100 [persona-owl]=160 [secret-word-gold]=160
    [advice-risky-finance]=160
)
for name in "${@:-fact-mars-ring fact-frozen-butter persona-owl secret-word-gold advice-risky-finance}"; do
    for n in $name; do train "$n" "${BASE[$n]}" "${MIX[$n]}" "${SOURCE[$n]}" "${STEPS[$n]}"; done
done
