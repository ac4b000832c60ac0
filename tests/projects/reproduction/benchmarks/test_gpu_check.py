# Copyright (c) peclr_mm authors. All rights reserved.
"""projects/reproduction/benchmarks/gpu_check.py on CPU for 2 iterations:
every row is measured or names why not, FLOPs are counted, the loader is
compared with the step, and the report is written."""
import json

from projects.reproduction.benchmarks.gpu_check import main


def test_gpu_check_runs_on_cpu(tmp_path):
    out = str(tmp_path / 'gpu_check')
    assert main(['--quick', '--device', 'cpu', '--out', out]) == 0
    result = json.load(open(out + '.json'))
    rows = result['rows']
    assert [(r['run'], r['dtype'], r['channels_last']) for r in rows] == [
        ('pretrain PeCLR RN50', 'bf16', True),
        ('pretrain PeCLR RN50', 'bf16', False),
        ('pretrain PeCLR RN50', 'fp16', True),
        ('pretrain PeCLR RN50', 'fp16', False),
        ('finetune Hand25D RN50', 'bf16', True),
    ]
    for r in rows:
        assert r.get('images_s', 0) > 0 or r.get('error'), r
    bf16 = [r for r in rows if r['dtype'] == 'bf16']
    assert all(r['images_s'] > 0 and r['tflop_per_step'] > 0 for r in bf16)
    # ResNet-50 at 64 px: 4.1 GMAC = 8.2 GFLOP x (64 / 224)^2 x 3 (forward
    # and backward) per image, two views of 2 images: about 8 GFLOP
    assert 0.004 < bf16[0]['tflop_per_step'] < 0.02
    assert 0 < bf16[0]['mfu'] < 1
    assert result['loader']['delivered_samples_s'] > 0
    assert isinstance(result['loader']['keeps_up'], bool)
    text = open(out + '.md').read()
    assert 'images/s' in text and 'Data loader, 2 workers' in text
