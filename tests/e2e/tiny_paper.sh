# Sourced by the e2e scripts of `sdn paper`: `tiny_paper` holds the options
# of a pipeline run on a tiny synthetic problem (4 classes, 192 training
# images, one epoch per training): seconds per stage, no --out.
tiny_paper=(paper --quick --dataset synthetic --synthetic-train 240
            --synthetic-test 64 --synthetic-classes 4 --synthetic-channels 1
            --val-size 48 --train-subset 192 --batch-size 32 --epochs 1
            --ic-epochs 1 --milestones 1 --ic-milestones 1 --test-samples 0
            --train-trace-samples 64 --ood-samples 64 --grid-images 1)
