"""The learning tools behind ``convcli shape``, ``convcli explain`` and ``convcli gallery``.

- :mod:`~convcli.learn.inputs`: what ``explain`` and ``shape`` read (text matrices, ``.npy``,
  images turned gray, sizes like ``224x224x3``);
- :mod:`~convcli.learn.shapes`: one convolution's shape report, CNN layer chains;
- :mod:`~convcli.learn.window`: the sliding window's arithmetic, checked against the engine;
- :mod:`~convcli.learn.text`: the text views of that arithmetic;
- :mod:`~convcli.learn.animation`: the sliding window as an animated GIF;
- :mod:`~convcli.learn.page`: the sliding window as one self-contained HTML page;
- :mod:`~convcli.learn.gallery`: one image through many kernels on one contact sheet.

Sizes are written height first, as NumPy's shape and the shape formula are: ``224×224×3``.
"""
