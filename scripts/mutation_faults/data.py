# SPDX-License-Identifier: MIT
"""Faults in the data pipeline: normalisation, sharding between ranks, dataset verification, augmentation."""

from .fault import INDEPENDENT, Fault

FAULTS = (
    Fault(
        "normalization_mean", "inputs normalized with a wrong mean", "convzoo/data/adapt.py",
        "x = (x - self.mean) / self.std", "x = (x - 0.9 * self.mean) / self.std",
        (f"{INDEPENDENT}::test_input_adapter_normalizes_with_the_datasets_mean_and_std",),
        quick=True,
        origin="planned: written together with the test that catches it",
    ),
    Fault(  # the sampler is where ranks split the epoch
        "rank_shard", "every rank takes the indices of rank 0: all ranks train on the same images",
        "convzoo/data/loader.py",
        "order = torch.cat([order, order[: padded - count]])[rank::world_size]",
        "order = torch.cat([order, order[: padded - count]])[0::world_size]",
        ("tests/test_data.py::test_sharding_splits_the_epoch_between_ranks",),
        quick=True,
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "dataset_unverified", "a Fashion-MNIST directory found on disk is trusted without its MD5s",
        "convzoo/data/fashion_mnist.py",
        "return verify(directory, checksums)", "return directory",
        ("tests/test_dataset_verification.py::test_the_embedded_sample_planted_as_the_full_set_is_refused_naming_the_md5",),
        quick=True,
        origin="history 1d2caa6: four files with Fashion-MNIST's names were trusted as the full set "
        "(the embedded sample was accepted)",
    ),
    Fault(
        "stream_crop_seed_by_rank", "a streamed crop seeded by (rank, position): N ranks crop unlike one process",
        "convzoo/data/streaming.py",
        "mixed_seed(loader.seed, loader.epoch, order[p])", "mixed_seed(loader.seed, loader.epoch, loader.rank, p)",
        ("tests/test_augment.py::test_a_streamed_images_crop_is_the_same_whatever_the_rank_that_reads_it",),
        quick=True,
        origin="history 82fc096: crops were seeded by (seed, epoch, rank, position), so two ranks drew other crops",
    ),
    Fault(
        "flip_vertical", "the random flip mirrors top to bottom instead of left to right", "convzoo/data/loader.py",
        "images.flip(3), images)", "images.flip(2), images)",
        ("tests/test_augment.py::test_random_flip_mirrors_left_to_right_about_half_the_images",),
        quick=True,
        origin="planned: survived at first (no test looked at a flipped image); test written for it",
    ),
    Fault(
        "crop_offset_short", "the random crop never takes the rightmost offset (randint's end taken as inclusive)",
        "convzoo/data/loader.py",
        "dx = torch.randint(0, 2 * padding + 1,", "dx = torch.randint(0, 2 * padding,",
        ("tests/test_augment.py::test_random_crop_is_a_window_of_the_zero_padded_image_at_any_of_the_offsets",),
        quick=True,
        origin="planned: survived at first (the crop test checked only that something moved); test written for it",
    ),
    Fault(
        "no_flip_ignored", "--no-flip is ignored: training images are always flipped", "convzoo/training/setup.py",
        "Augment(config.crop_padding, config.flip, config.random_erasing)",
        "Augment(config.crop_padding, True, config.random_erasing)",
        ("tests/test_augment.py::test_training_batches_are_augmented_as_configured_and_test_batches_never_are",),
        origin="planned: what is applied at train time; test written for it",
    ),
    Fault(
        "test_split_augmented", "the in-memory test loader crops and flips like the training one",
        "convzoo/data/datasets.py",
        "return BatchLoader(self.test_images, self.test_labels, batch_size, **options)",
        "return BatchLoader(self.test_images, self.test_labels, batch_size, augment=Augment(2, True), **options)",
        ("tests/test_augment.py::test_training_batches_are_augmented_as_configured_and_test_batches_never_are",),
        origin="planned: what is applied at eval time; test written for it",
    ),
    Fault(
        "constant_channel_std_zero", "a channel constant over the training set gets std 0 (NaN at the first step)",
        "convzoo/data/datasets.py",
        "pixels.std(1).clamp_min(MIN_STD).tolist()", "pixels.std(1).tolist()",
        ("tests/test_data.py::test_channel_statistics_are_numpys_and_a_constant_channel_keeps_one_level_of_std",),
        quick=True,
        origin="history 72e65d5: channel_stats returned the raw std; a constant channel divided by 0",
    ),
)  # fmt: skip
