"""A study on your own image folder: a small CNN, with and without dropout.

    python examples/folder_study.py --data folder:PATH --seeds 2

PATH holds `train/<class>/*.png|jpg` and `test/<class>/...` (or is a .tar.gz
of them); every image of a folder must have the same size. `--val-split 0.1`
holds a validation split out of the training images and keeps the test split
for the end.
"""

import sys

import kerashp


class FolderCnn(kerashp.Study):
    name = "folder_cnn"
    description = "a small CNN on an image folder, with and without dropout"
    default_data = "folder:images"
    epochs = 5
    batch_size = 32
    configs = {"no dropout": {"dropout": 0.0}, "dropout 0.3": {"dropout": 0.3}}
    table_hyperparameters = ("dropout",)

    def build(self, hp):
        import keras

        model = keras.Sequential([
            keras.Input(self.data.input_shape),
            keras.layers.Conv2D(16, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dropout(hp["dropout"]),
            keras.layers.Dense(self.data.num_classes, activation="softmax"),
        ])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


if __name__ == "__main__":
    sys.exit(kerashp.main(FolderCnn))
