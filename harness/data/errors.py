"""Errors the data layer raises; each names the file or option and what to do."""


class DataError(RuntimeError):
    """A data set is present but wrong: a bad archive, an undecodable file, a wrong class count."""


class DataMissing(DataError):
    """A data set is not where the harness looks for it.

    ``hint`` is the command that gets it; suites turn this into a skip that shows it.
    """

    def __init__(self, dataset: str, where: str, hint: str):
        self.dataset = dataset
        self.where = where
        self.hint = hint
        super().__init__(f"{dataset} not found under {where}. To get it: {hint}")
