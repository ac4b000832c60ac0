# Copyright (c) peclr_mm authors. All rights reserved.
"""bfloat16 autocast wrapper and channels-last hook on a real runner."""
import torch
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner

from peclr_mm.engine import BF16OptimWrapper
from tests.conftest import tiny_finetune_cfg


def _runner(root, work, bf16):
    cfg = tiny_finetune_cfg(root, work)
    cfg.optim_wrapper = dict(
        type='BF16OptimWrapper' if bf16 else 'OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-3))
    if bf16:  # bfloat16 even where it is emulated: the numbers are tested
        cfg.optim_wrapper['native_only'] = False
    cfg.custom_hooks = [dict(type='ChannelsLastHook')] if bf16 else []
    cfg.randomness = dict(seed=0)
    return Runner.from_cfg(cfg)


def test_bf16_step_on_a_runner(synthetic_root, tmp_path):
    runner = _runner(synthetic_root, str(tmp_path / 'bf16'), True)
    model = runner.model
    dtypes = []

    def record(module, inputs, output):
        if module.training:  # validation runs without autocast
            dtypes.append(
                (output.dtype,
                 output.is_contiguous(memory_format=torch.channels_last)))

    model.backbone.conv1.register_forward_hook(record)
    before = model.backbone.conv1.weight.detach().clone()
    runner.train()
    assert isinstance(runner.optim_wrapper, BF16OptimWrapper)
    # convolutions ran in bfloat16 on channels-last tensors ...
    assert dtypes and all(d == (torch.bfloat16, True) for d in dtypes)
    # ... while weights stay float32 and were updated
    weight = model.backbone.conv1.weight
    assert weight.dtype == torch.float32
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not torch.equal(weight.detach(), before)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_bf16_loss_matches_float32(synthetic_root, tmp_path):
    """One batch: the bfloat16 losses equal the float32 ones to bfloat16
    precision, and the wrapper's gradients point the same way."""
    runners = [
        _runner(synthetic_root, str(tmp_path / name), bf16)
        for name, bf16 in (('fp32', False), ('bf16', True))
    ]
    models = [r.model for r in runners]
    models[1].load_state_dict(models[0].state_dict())
    models[1].to(memory_format=torch.channels_last)
    batch = next(
        iter(runners[0].build_dataloader(runners[0].cfg.train_dataloader)))
    grads, losses = [], []
    for model, wrapper_type in zip(models, (OptimWrapper, BF16OptimWrapper)):
        model.train()
        wrapper = wrapper_type(
            optimizer=torch.optim.SGD(model.parameters(), lr=0.))
        with wrapper.optim_context(model):
            data = model.data_preprocessor(batch, True)
            loss = model(**data, mode='loss')
        total, _ = model.parse_losses(loss)
        wrapper.backward(total)
        losses.append({k: v.item() for k, v in loss.items()})
        head = model.head  # the layer that reads out uv and z_rel
        out = head.final_layer if hasattr(head, 'final_layer') else \
            head.regressor[-1]
        grads.append(out.weight.grad.flatten())
    for key in ('loss_uv', 'loss_zrel'):
        assert abs(losses[1][key] -
                   losses[0][key]) <= 0.02 * abs(losses[0][key]), (key, losses)
    cos = torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0)
    assert cos > 0.95, cos  # 0.975 measured; unrelated vectors: ~0


def test_bf16_only_where_it_is_native(monkeypatch):
    """Without AVX-512 BF16 or AMX the wrapper computes in float32 (and
    says so); with them, or on request, in bfloat16."""
    from torch import nn

    from peclr_mm.engine import bf16
    model = nn.Linear(4, 4)
    x = torch.randn(2, 4)

    def dtype(wrapper):
        with wrapper.optim_context(model):
            return model(x).dtype

    for flags, native in ((frozenset({'avx2', 'fma'}), False),
                          (frozenset({'avx512f', 'avx512_bf16'}),
                           True), (frozenset({'amx_bf16'}), True)):
        monkeypatch.setattr(bf16, '_cpu_flags', lambda f=flags: f)
        assert bf16.native_bf16('cpu') is native
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        assert dtype(BF16OptimWrapper(optimizer=opt)) == (
            torch.bfloat16 if native else torch.float32)
        assert dtype(BF16OptimWrapper(optimizer=opt,
                                      native_only=False)) == torch.bfloat16
    assert bf16.native_bf16('cuda')
