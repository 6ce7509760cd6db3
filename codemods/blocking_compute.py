"""Blocking tables: cloud SDKs, file formats, data and imaging libraries, password hashing."""

from __future__ import annotations

from .blocking_entries import TO_THREAD, Table, each, members, wide

# --------------------------------------------------------------------------------------------
# Cloud, files and data
# --------------------------------------------------------------------------------------------

_BOTO_INSTEAD = "aioboto3 / aiobotocore, or asyncio.to_thread(client.<method>, ...)"
BOTO3: Table = {
    # Building a client loads the service model JSON from disk and may resolve credentials
    # (files, or an HTTP call to the instance metadata service).
    **each(
        (
            "boto3.client",
            "boto3.resource",
            "boto3.Session.client",
            "boto3.Session.resource",
            "boto3.session.Session.client",
            "boto3.session.Session.resource",
        ),
        "loads service models from disk and may fetch credentials over HTTP (IMDS)",
        "create clients once at startup, or aioboto3.Session().client(...)",
    ),
    # Every API call of a client is a synchronous HTTPS request (upload_file/download_file
    # included); local helpers are in NON_BLOCKING.
    **wide(
        ("botocore.client.BaseClient",),
        "every AWS API call is a synchronous HTTPS request",
        _BOTO_INSTEAD,
    ),
    "botocore.waiter.Waiter.wait": (
        "polls the AWS API with sleeps until the resource reaches the state",
        _BOTO_INSTEAD,
    ),
    **each(
        tuple(
            f"botocore.paginate.PageIterator.{method}"
            for method in ("__iter__", "build_full_result", "search")
        ),
        "each page is a synchronous HTTPS request",
        _BOTO_INSTEAD,
    ),
    **members(
        ("boto3.s3.transfer.S3Transfer",),
        ("upload_file", "download_file"),
        "transfers the file synchronously (waits for the worker threads)",
        _BOTO_INSTEAD,
    ),
}

_H5_INSTEAD = "asyncio.to_thread(...) around the whole HDF5 work (h5py has no async API)"
H5PY_FILES = ("h5py.File", "h5py._hl.files.File")
H5PY: Table = {
    **each(H5PY_FILES, "opens an HDF5 file: disk I/O", _H5_INSTEAD),
    **wide(
        H5PY_FILES
        + ("h5py.Dataset", "h5py._hl.dataset.Dataset", "h5py.Group", "h5py._hl.group.Group"),
        "HDF5 reads/writes/metadata lookups go to disk, serialised on HDF5's global lock",
        _H5_INSTEAD,
    ),
}

_PIL_INSTEAD = f"{TO_THREAD}: Pillow's codecs and resamplers release the GIL"
PIL_IMAGES = ("PIL.Image.Image",)
PIL: Table = {
    "PIL.Image.open": ("opens the image file and reads its header from disk", _PIL_INSTEAD),
    **each(
        ("PIL.Image.frombytes", "PIL.Image.frombuffer", "PIL.Image.fromarray"),
        "decodes/copies a whole image in C: CPU time proportional to its size",
        _PIL_INSTEAD,
    ),
    **members(
        PIL_IMAGES,
        ("save", "load", "show", "verify"),
        "encodes/decodes the image and reads/writes the file",
        _PIL_INSTEAD,
    ),
    **members(
        PIL_IMAGES,
        (
            "resize",
            "thumbnail",
            "convert",
            "rotate",
            "transpose",
            "transform",
            "filter",
            "reduce",
            "quantize",
            "tobytes",
            "copy",
            "crop",
            "paste",
            "point",
            "histogram",
            "getcolors",
            "alpha_composite",
            "draft",
            "effect_spread",
        ),
        "pixel work in C on the whole image: CPU time proportional to its size",
        _PIL_INSTEAD,
    ),
    **each(
        (
            "PIL.ImageOps." + name
            for name in (
                "exif_transpose",
                "fit",
                "contain",
                "cover",
                "pad",
                "scale",
                "grayscale",
                "autocontrast",
                "equalize",
                "posterize",
                "solarize",
                "invert",
                "mirror",
                "flip",
                "expand",
            )
        ),
        "pixel work in C on the whole image: CPU time proportional to its size",
        _PIL_INSTEAD,
    ),
}

_PANDAS_INSTEAD = "await asyncio.to_thread(pandas.read_csv, ...) (pandas has no async I/O)"
PANDAS_READERS = tuple(
    "pandas.read_" + kind
    for kind in (
        "csv",
        "table",
        "fwf",
        "excel",
        "json",
        "parquet",
        "feather",
        "orc",
        "pickle",
        "hdf",
        "html",
        "xml",
        "sql",
        "sql_query",
        "sql_table",
        "stata",
        "sas",
        "spss",
        "clipboard",
        "gbq",
    )
)
PANDAS_FRAMES = (
    "pandas.DataFrame",
    "pandas.core.frame.DataFrame",
    "pandas.Series",
    "pandas.core.series.Series",
)
PANDAS: Table = {
    **each(
        PANDAS_READERS,
        "reads and parses a whole file (or runs a query) synchronously",
        _PANDAS_INSTEAD,
    ),
    **members(
        PANDAS_FRAMES,
        (
            "to_csv",
            "to_excel",
            "to_json",
            "to_parquet",
            "to_feather",
            "to_orc",
            "to_pickle",
            "to_hdf",
            "to_sql",
            "to_stata",
            "to_xml",
            "to_html",
            "to_latex",
            "to_markdown",
            "to_clipboard",
            "to_gbq",
        ),
        "serialises the whole frame and writes it out synchronously",
        "await asyncio.to_thread(df.to_csv, ...)",
    ),
    **each(
        (
            "pandas.ExcelFile",
            "pandas.ExcelWriter",
            "pandas.HDFStore",
            "pandas.io.pytables.HDFStore",
        ),
        "opens (and for Excel parses) a file",
        _PANDAS_INSTEAD,
    ),
}

_MPL_INSTEAD = (
    "asyncio.to_thread with the object-oriented API (Figure + FigureCanvasAgg): "
    "pyplot's global state is not thread-safe"
)
MATPLOTLIB: Table = {
    **each(
        (
            "matplotlib.pyplot.savefig",
            "matplotlib.pyplot.imsave",
            "matplotlib.pyplot.imread",
            "matplotlib.image.imsave",
            "matplotlib.image.imread",
            "matplotlib.figure.Figure.savefig",
            "matplotlib.figure.Figure.draw",
            "matplotlib.pyplot.draw",
            "matplotlib.backends.backend_agg.FigureCanvasAgg.draw",
            "matplotlib.backends.backend_agg.FigureCanvasAgg.print_png",
            "matplotlib.backends.backend_agg.FigureCanvasAgg.print_figure",
            "matplotlib.backend_bases.FigureCanvasBase.print_figure",
        ),
        "renders the figure (rasterising every artist in CPU) and writes the image",
        _MPL_INSTEAD,
    ),
    **each(
        (
            "matplotlib.pyplot.show",
            "matplotlib.pyplot.pause",
            "matplotlib.pyplot.ginput",
            "matplotlib.pyplot.waitforbuttonpress",
        ),
        "runs a GUI event loop until the window closes (or sleeps, for pause)",
        "savefig to a buffer in asyncio.to_thread instead of showing windows in a server",
    ),
}

# --------------------------------------------------------------------------------------------
# Password hashing: slow on purpose (tens to hundreds of ms of CPU per call).
# --------------------------------------------------------------------------------------------

_HASH_WHY = "password hashing is slow by design (~0.1-0.5 s of CPU) and runs on the loop thread"
_HASH_INSTEAD = f"{TO_THREAD}: the C/Rust core releases the GIL, so a thread frees the loop"
BCRYPT: Table = each(("bcrypt.hashpw", "bcrypt.checkpw", "bcrypt.kdf"), _HASH_WHY, _HASH_INSTEAD)
PASSLIB: Table = {
    **members(
        ("passlib.context.CryptContext", "passlib.context.LazyCryptContext"),
        ("hash", "verify", "verify_and_update", "encrypt", "dummy_verify", "genhash"),
        _HASH_WHY,
        _HASH_INSTEAD,
    ),
    **members(
        tuple(
            f"passlib.hash.{scheme}"
            for scheme in (
                "bcrypt",
                "bcrypt_sha256",
                "argon2",
                "scrypt",
                "pbkdf2_sha1",
                "pbkdf2_sha256",
                "pbkdf2_sha512",
                "sha256_crypt",
                "sha512_crypt",
                "django_pbkdf2_sha256",
                "ldap_pbkdf2_sha256",
            )
        ),
        ("hash", "verify", "encrypt", "genhash"),
        _HASH_WHY,
        _HASH_INSTEAD,
    ),
}
ARGON2: Table = {
    **members(
        ("argon2.PasswordHasher", "argon2._password_hasher.PasswordHasher"),
        ("hash", "verify"),
        "argon2 is memory- and time-hard by design (~50 ms+ of CPU and RAM per call)",
        _HASH_INSTEAD,
    ),
    **each(
        (
            "argon2.low_level.hash_secret",
            "argon2.low_level.hash_secret_raw",
            "argon2.low_level.verify_secret",
            "argon2.hash_password",
            "argon2.hash_password_raw",
            "argon2.verify_password",
        ),
        "argon2 is memory- and time-hard by design (~50 ms+ of CPU and RAM per call)",
        _HASH_INSTEAD,
    ),
}
# pwdlib: what the FastAPI tutorial uses today (argon2 / bcrypt underneath).
PWDLIB: Table = members(
    ("pwdlib.PasswordHash", "pwdlib._hash.PasswordHash"),
    ("hash", "verify", "verify_and_update"),
    _HASH_WHY,
    _HASH_INSTEAD,
)
WERKZEUG: Table = each(
    ("werkzeug.security.generate_password_hash", "werkzeug.security.check_password_hash"),
    "scrypt/pbkdf2 password hashing, slow by design",
    _HASH_INSTEAD,
)
