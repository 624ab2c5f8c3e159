"""Measured facts of the trained separators (written by `python -m zoo.audio.publish measure NAME...` from
runs/audio/<name>/; re-run it rather than editing by hand).

test: `zoo eval <name>` on the recipe's 500 fixed FSDD test mixtures (seed 0), of the weights as stored
(``dtype``); fp32_test_si_snri: the float32 checkpoint on the same mixtures (the training run's
result.json). check_si_snri: the first 8 test mixtures (`zoo eval <name> --mixtures 8`), pinned by
tests/test_audio.py. sha256: of hub/models/<name>/model.safetensors. val_si_snri: validation SI-SNRi
(100 fixed mixtures) at each validation step.
"""

# fmt: off
TRAINED: dict[str, dict] = {'convtasnet-fsdd2mix': {'best_step': 800,
                         'check_mixtures': 8,
                         'check_si_snri': 10.393,
                         'dtype': 'float16',
                         'fp16_test_si_snri': 11.63,
                         'fp32_test_si_snri': 11.63,
                         'parameters': 327065,
                         'sha256': 'e7ed7f789bc19928e1809538d3a662ecf755dc6530b07e2638a76d419885bc38',
                         'steps': 800,
                         'test': {'input_si_snr': 0.013, 'mixtures': 500, 'si_snr': 11.643, 'si_snri': 11.63},
                         'train_seconds': 326.9,
                         'val_si_snri': {200: 6.715, 400: 9.176, 600: 10.039, 800: 11.109}},
 'mossformer-fsdd2mix': {'best_step': 800,
                         'check_mixtures': 8,
                         'check_si_snri': 6.18,
                         'dtype': 'float16',
                         'fp16_test_si_snri': 6.473,
                         'fp32_test_si_snri': 6.472,
                         'parameters': 217166,
                         'sha256': 'bd0d3a2a0b7ed45f3dc10c39c7016c23e4b1fee3282866245625fa0cfa78e0e3',
                         'steps': 800,
                         'test': {'input_si_snr': 0.013, 'mixtures': 500, 'si_snr': 6.486, 'si_snri': 6.473},
                         'train_seconds': 666.1,
                         'val_si_snri': {200: 3.615, 400: 5.587, 600: 6.563, 800: 6.843}},
 'mossformer2-fsdd2mix': {'best_step': 800,
                          'check_mixtures': 8,
                          'check_si_snri': 8.148,
                          'dtype': 'float16',
                          'fp16_test_si_snri': 8.787,
                          'fp32_test_si_snri': 8.787,
                          'parameters': 312210,
                          'sha256': 'b23e029a995e1d5887e4d2e58bb942013b14347aa761c7fe754b7ca8cf74a838',
                          'steps': 800,
                          'test': {'input_si_snr': 0.013, 'mixtures': 500, 'si_snr': 8.801, 'si_snri': 8.787},
                          'train_seconds': 1232.7,
                          'val_si_snri': {200: 3.765, 400: 7.57, 600: 8.656, 800: 8.957}}}
