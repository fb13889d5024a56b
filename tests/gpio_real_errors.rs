//! The real gpiocdev start-up paths where they can run anywhere: wrong chips
//! and lines must fail at start with an error that says what exists. (The
//! success paths need a GPIO chip: they run under QEMU with gpio-sim.)

use enrolld::gpio::{self, GpioError, IndicatorConfig, TriggerConfig};
use tokio::sync::mpsc;

fn has_gpio_chips() -> bool {
    std::fs::read_dir("/dev")
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with("gpiochip"))
}

fn trigger_error(text: &str) -> GpioError {
    let cfg: TriggerConfig = toml::from_str(text).unwrap();
    cfg.validate().unwrap();
    let (tx, _rx) = mpsc::channel(1);
    match gpio::start_trigger(&cfg, tx) {
        Ok(_) => panic!("{text:?} started"),
        Err(e) => e,
    }
}

#[test]
fn a_missing_chip_path_is_named_with_the_chips_that_exist() {
    let e = trigger_error("kind = \"button\"\nchip = \"/dev/gpiochip999\"\nline = 3\n");
    let GpioError::ChipNotFound { spec, .. } = &e else {
        panic!("unexpected {e:?}");
    };
    assert_eq!(spec, "/dev/gpiochip999");
    let text = e.to_string();
    assert!(
        text.starts_with("GPIO chip `/dev/gpiochip999` not found; chips: "),
        "{e}"
    );
    assert!(
        text.ends_with(
            ". Set `chip` to one of them by path, name or label (`enrolld probe` lists them \
             with their lines)"
        ),
        "{e}"
    );
}

#[test]
fn a_file_that_is_not_a_gpio_chip_is_refused() {
    let e = trigger_error("kind = \"button\"\nchip = \"/dev/null\"\nline = 3\n");
    assert!(
        matches!(&e, GpioError::Chip { chip, .. } if chip == "/dev/null"),
        "unexpected {e:?}"
    );
    assert!(
        e.to_string().contains("is not a GPIO character device"),
        "{e}"
    );
}

#[test]
fn an_unknown_label_or_line_name_fails_at_start() {
    let by_label =
        trigger_error("kind = \"button\"\nchip = \"no-such-label\"\nline = \"button\"\n");
    let by_name = trigger_error("kind = \"presence\"\nline = \"no-such-line\"\n");
    if has_gpio_chips() {
        assert!(
            matches!(by_label, GpioError::ChipNotFound { .. }),
            "{by_label:?}"
        );
        assert!(
            matches!(&by_name, GpioError::LineNotFound { chip, .. } if chip == "any chip"),
            "{by_name:?}"
        );
    } else {
        assert_eq!(by_label, GpioError::NoChips);
        assert_eq!(by_name, GpioError::NoChips);
    }
}

#[tokio::test]
async fn the_indicator_fails_at_start_the_same_way() {
    let cfg: IndicatorConfig =
        toml::from_str("kind = \"pair\"\nchip = \"/dev/gpiochip999\"\ngreen = 1\nred = 2\n")
            .unwrap();
    cfg.validate().unwrap();
    let Err(e) = gpio::start_indicator(&cfg) else {
        panic!("started");
    };
    assert!(matches!(e, GpioError::ChipNotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn kind_none_opens_nothing() {
    let (tx, _rx) = mpsc::channel(1);
    let t = gpio::start_trigger(&TriggerConfig::default(), tx).unwrap();
    assert_eq!(t.health(), gpio::TriggerHealth::Disabled);
    t.enrollment_finished();
    let i = gpio::start_indicator(&IndicatorConfig::default()).unwrap();
    i.show(gpio::Pattern::Busy);
    i.shutdown().await;
}
