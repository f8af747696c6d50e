"""The acoustic codec (SoundStream-style): encoder/decoder, residual vector quantizer,
losses, discriminator and the acoustic-token file format.

Import the submodule you need (``musiclm.codec.quantize``, ``musiclm.codec.losses``, ...);
this package imports nothing on its own so that loading one part stays cheap.
"""
