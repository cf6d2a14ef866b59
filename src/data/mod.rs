//! Datasets: MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 in their official
//! file formats, and your own pictures in class folders.
//!
//! Everything here parses from bytes in memory, because in the browser there
//! is no file system: the page hands us `(file name, bytes)` pairs that the
//! user dropped in or that were fetched. The same code runs natively.
//!
//! Layout of this module, top to bottom:
//! - here: the dataset kinds and the in-memory image sets;
//! - [`error`]: [`DataError`], which always names the file and the problem;
//! - [`archive`]: gzip and tar, bounded so that a hostile file cannot make us
//!   allocate more than [`MAX_UNPACKED_BYTES`];
//! - [`idx`] (MNIST, Fashion-MNIST) and [`cifar`] (CIFAR-10 binary batches);
//! - [`load`]: [`load_files`], which recognises files by name and content
//!   and assembles a train and a test split;
//! - [`images`]: pictures in class folders (a folder tree or a `.zip`),
//!   decoded and resized to the net's input, with the files it had to skip;
//! - [`prep`]: train/validation split, per-pixel mean, batching, augmentation;
//! - [`sample`]: the small built-in samples under `assets/sample/`.
//!
//! The parsers never panic on any input and never allocate a size read from a
//! header before checking it against the bytes actually present.

pub mod archive;
pub mod cifar;
pub mod error;
pub mod idx;
pub mod images;
pub mod load;
pub mod prep;
pub mod sample;

pub use archive::{gunzip, untar};
pub use cifar::parse_cifar_batch;
pub use error::{DataError, Problem};
pub use idx::{parse_idx_images, parse_idx_labels};
pub use images::{ImageFit, ImageImport, ImportOptions, Skipped};
pub use load::load_files;
pub use prep::{Augment, Batcher, fill_batch, pixel_mean, pixel_mean_of, split_indices, split_train_val};

/// Upper bound on everything we unpack from compressed or archived input, in
/// total, and on any size a header may claim. The full CIFAR-10 binary set is
/// about 176 MiB unpacked, MNIST about 53 MiB, so this leaves ample room while
/// keeping a malicious "zip bomb" from exhausting the browser's memory.
pub const MAX_UNPACKED_BYTES: usize = 512 << 20;

/// Classes of MNIST, Fashion-MNIST and CIFAR-10 (CIFAR-100 has 100 fine
/// classes or 20 superclasses: [`DatasetKind::num_classes`]).
pub const NUM_CLASSES: usize = 10;

/// CIFAR-100's fine classes, in label order (the archive's `fine_label_names.txt`).
pub const CIFAR100_FINE: [&str; 100] = [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
        "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
        "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
        "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
        "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard",
        "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse",
        "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck",
        "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray",
        "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail",
        "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
        "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle",
        "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
];

/// CIFAR-100's superclasses, in label order (`coarse_label_names.txt`).
pub const CIFAR100_COARSE: [&str; 20] = [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
        "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
        "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
        "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
        "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
];

/// Which dataset a [`Dataset`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    Mnist,
    FashionMnist,
    Cifar10,
    /// CIFAR-100 with its 100 fine labels.
    Cifar100,
    /// CIFAR-100 with its 20 coarse labels (superclasses).
    Cifar100Coarse,
    /// Your own pictures in class folders ([`images`]): colour, the size the
    /// config says (`image_size`), the classes the folders say.
    Images,
}

impl DatasetKind {
    pub const ALL: [DatasetKind; 6] = [
        DatasetKind::Mnist,
        DatasetKind::FashionMnist,
        DatasetKind::Cifar10,
        DatasetKind::Cifar100,
        DatasetKind::Cifar100Coarse,
        DatasetKind::Images,
    ];

    /// Stable identifier, the same as the JSON form: "mnist", "fashion-mnist", "cifar10".
    pub fn id(&self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Cifar10 => "cifar10",
            DatasetKind::Cifar100 => "cifar100",
            DatasetKind::Cifar100Coarse => "cifar100-coarse",
            DatasetKind::Images => "images",
        }
    }

    /// Human name, for display.
    pub fn display_name(&self) -> &'static str {
        match self {
            DatasetKind::Mnist => "MNIST",
            DatasetKind::FashionMnist => "Fashion-MNIST",
            DatasetKind::Cifar10 => "CIFAR-10",
            DatasetKind::Cifar100 => "CIFAR-100 (100 classes)",
            DatasetKind::Cifar100Coarse => "CIFAR-100 (20 superclasses)",
            DatasetKind::Images => "Your pictures (class folders)",
        }
    }

    /// Accepts the id and the usual spellings ("CIFAR-10", "fashion_mnist", ...),
    /// ignoring case and separators.
    pub fn parse(s: &str) -> Option<Self> {
        let key: String = s
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "mnist" => Some(DatasetKind::Mnist),
            "fashionmnist" | "fashion" => Some(DatasetKind::FashionMnist),
            "cifar10" | "cifar" => Some(DatasetKind::Cifar10),
            "cifar100" | "cifar100fine" => Some(DatasetKind::Cifar100),
            "cifar100coarse" | "cifar20" => Some(DatasetKind::Cifar100Coarse),
            "images" | "pictures" | "folder" => Some(DatasetKind::Images),
            _ => None,
        }
    }

    pub fn channels(&self) -> usize {
        match self {
            DatasetKind::Mnist | DatasetKind::FashionMnist => 1,
            DatasetKind::Cifar10 | DatasetKind::Cifar100 | DatasetKind::Cifar100Coarse => 3,
            DatasetKind::Images => images::CHANNELS,
        }
    }

    /// Classes the labels run over; 0 for [`DatasetKind::Images`], whose
    /// classes are the data's ([`Dataset::num_classes`], the config's `classes`).
    pub fn num_classes(&self) -> usize {
        self.class_names().len()
    }

    /// The CIFAR kinds (3x32x32 images, recognised as one family of files).
    pub fn is_cifar(&self) -> bool {
        matches!(self, DatasetKind::Cifar10 | DatasetKind::Cifar100 | DatasetKind::Cifar100Coarse)
    }

    /// Image side in pixels (images are square): 28 or 32; for your own
    /// pictures the default input size ([`images::DEFAULT_SIZE`]), which the
    /// config's `image_size` replaces (`ExperimentConfig::input_size`).
    pub fn size(&self) -> usize {
        match self {
            DatasetKind::Mnist | DatasetKind::FashionMnist => idx::SIDE,
            DatasetKind::Cifar10 | DatasetKind::Cifar100 | DatasetKind::Cifar100Coarse => cifar::SIDE,
            DatasetKind::Images => images::DEFAULT_SIZE,
        }
    }

    pub fn class_names(&self) -> &'static [&'static str] {
        match self {
            DatasetKind::Mnist => &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            DatasetKind::FashionMnist => &[
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
            DatasetKind::Cifar10 => &[
                "airplane",
                "automobile",
                "bird",
                "cat",
                "deer",
                "dog",
                "frog",
                "horse",
                "ship",
                "truck",
            ],
            DatasetKind::Cifar100 => &CIFAR100_FINE,
            DatasetKind::Cifar100Coarse => &CIFAR100_COARSE,
            // The folder names, known only with the data (`Dataset::class_names`).
            DatasetKind::Images => &[],
        }
    }
}

impl std::fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}

/// Images stored as u8, N x C x H x W (channel-major per image, like CIFAR's
/// file layout), with one label (a class index) per image: `u16`, as your
/// pictures may have up to 1,000 classes (the files store a byte).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageSet {
    pub images: Vec<u8>,
    pub labels: Vec<u16>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl ImageSet {
    /// An empty set with the given image shape.
    pub fn empty(channels: usize, height: usize, width: usize) -> Self {
        ImageSet {
            images: Vec::new(),
            labels: Vec::new(),
            channels,
            height,
            width,
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// C * H * W.
    pub fn pixels_per_image(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The `i`-th image, C x H x W bytes. Panics if `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.pixels_per_image();
        &self.images[i * n..(i + 1) * n]
    }

    /// The first `n` images (all of them if there are fewer).
    pub fn take(&self, n: usize) -> ImageSet {
        let n = n.min(self.len());
        ImageSet {
            images: self.images[..n * self.pixels_per_image()].to_vec(),
            labels: self.labels[..n].to_vec(),
            ..ImageSet::empty(self.channels, self.height, self.width)
        }
    }

    /// The images at `indices`, in that order. Panics on an index out of range.
    pub fn select(&self, indices: &[usize]) -> ImageSet {
        let n = self.pixels_per_image();
        let mut images = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            images.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        ImageSet {
            images,
            labels,
            ..ImageSet::empty(self.channels, self.height, self.width)
        }
    }

    /// Appends `other`, which must have the same image shape. Moves instead of
    /// copying when `self` is empty, so assembling a split batch by batch costs
    /// one copy of the data at most.
    pub fn append(&mut self, other: ImageSet) {
        debug_assert_eq!(
            (self.channels, self.height, self.width),
            (other.channels, other.height, other.width)
        );
        if self.is_empty() {
            *self = other;
        } else {
            self.images.extend_from_slice(&other.images);
            self.labels.extend_from_slice(&other.labels);
        }
    }

    /// How many images carry each label `0..num_classes` (labels outside are not counted).
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        counts
    }
}

/// A dataset with its train and test splits (a validation split, if any, is
/// cut from `train` with [`prep::split_train_val`]).
#[derive(Clone, Debug)]
pub struct Dataset {
    pub kind: DatasetKind,
    pub train: ImageSet,
    pub test: ImageSet,
    /// Where the data came from, e.g. "built-in sample" or the file names.
    pub source: String,
    /// The classes in label order: the standard sets' own names, or your
    /// pictures' folder names, sorted.
    pub class_names: Vec<String>,
}

impl Dataset {
    /// A standard dataset (not [`DatasetKind::Images`]) with its class names.
    pub fn standard(kind: DatasetKind, train: ImageSet, test: ImageSet, source: String) -> Self {
        let class_names = kind.class_names().iter().map(|s| s.to_string()).collect();
        Dataset { kind, train, test, source, class_names }
    }

    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Channels of one image.
    pub fn channels(&self) -> usize {
        self.train.channels
    }

    /// Side of the (square) images, in pixels.
    pub fn size(&self) -> usize {
        self.train.height
    }

    /// "images (3x64x64, 2 classes)": what a config's input must match.
    pub fn shape_text(&self) -> String {
        format!("{} ({}x{}x{}, {} classes)", self.kind.id(), self.channels(), self.size(), self.size(), self.num_classes())
    }

    /// A summary for the UI and for logs.
    pub fn info_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind,
            "name": self.kind.display_name(),
            "channels": self.train.channels,
            "height": self.train.height,
            "width": self.train.width,
            "num_classes": self.num_classes(),
            "class_names": self.class_names,
            "train": self.train.len(),
            "test": self.test.len(),
            "train_class_counts": self.train.class_counts(self.num_classes()),
            "test_class_counts": self.test.class_counts(self.num_classes()),
            "source": self.source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ImageSet {
        // Three 1x1x2 images: [0,1], [10,11], [20,21], labels 0, 1, 1.
        ImageSet {
            images: vec![0, 1, 10, 11, 20, 21],
            labels: vec![0, 1, 1],
            channels: 1,
            height: 1,
            width: 2,
        }
    }

    #[test]
    fn kind_ids_round_trip_through_parse_and_json() {
        for k in DatasetKind::ALL {
            assert_eq!(DatasetKind::parse(k.id()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.id()));
            assert_eq!(
                serde_json::from_value::<DatasetKind>(serde_json::json!(k.id())).unwrap(),
                k
            );
            assert_eq!(k.class_names().len(), k.num_classes());
            let want = match k {
                DatasetKind::Cifar100 => 100,
                DatasetKind::Cifar100Coarse => 20,
                // The folders say: the dataset's, and the config's `classes`.
                DatasetKind::Images => 0,
                _ => NUM_CLASSES,
            };
            assert_eq!(k.num_classes(), want);
        }
        assert_eq!(DatasetKind::parse("CIFAR-10"), Some(DatasetKind::Cifar10));
        assert_eq!(
            DatasetKind::parse("Fashion_MNIST"),
            Some(DatasetKind::FashionMnist)
        );
        assert_eq!(DatasetKind::parse("imagenet"), None);
        assert_eq!(
            (DatasetKind::Cifar10.channels(), DatasetKind::Cifar10.size()),
            (3, 32)
        );
        assert_eq!(
            (DatasetKind::Mnist.channels(), DatasetKind::Mnist.size()),
            (1, 28)
        );
    }

    #[test]
    fn image_set_accessors() {
        let s = tiny();
        assert_eq!(s.len(), 3);
        assert!(!s.is_empty());
        assert_eq!(s.pixels_per_image(), 2);
        assert_eq!(s.image(1), &[10, 11]);
        assert_eq!(s.take(2).images, vec![0, 1, 10, 11]);
        assert_eq!(s.take(99).len(), 3);
        assert_eq!(s.select(&[2, 0]).images, vec![20, 21, 0, 1]);
        assert_eq!(s.select(&[2, 0]).labels, vec![1, 0]);
        assert_eq!(s.class_counts(3), vec![1, 2, 0]);
        assert_eq!(s.class_counts(1), vec![1]);
        let mut a = ImageSet::empty(1, 1, 2);
        a.append(s.take(1));
        a.append(s.select(&[2]));
        assert_eq!(a.images, vec![0, 1, 20, 21]);
    }

    #[test]
    fn info_json_has_counts() {
        let d = Dataset::standard(DatasetKind::Mnist, tiny(), tiny().take(1), "test".into());
        let j = d.info_json();
        assert_eq!(j["kind"], "mnist");
        assert_eq!(j["train"], 3);
        assert_eq!(j["test"], 1);
        assert_eq!(j["train_class_counts"][1], 2);
        assert_eq!(j["class_names"][9], "9");
        assert_eq!(j["source"], "test");
    }
}
