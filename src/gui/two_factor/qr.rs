//! The enrolment's QR code, drawn by Herald as inline SVG (the `qrcode` crate): nothing is sent
//! to another service, and the page's content security policy needs no exception.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::gui::page::GuiError;

/// `text` as an `<svg>` element (without the XML declaration, to sit inside HTML).
pub fn svg(text: &str) -> Result<String, GuiError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| GuiError::Internal(anyhow::anyhow!("the QR code could not be made: {e}")))?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(220, 220)
        .dark_color(svg::Color("#111827"))
        .light_color(svg::Color("#ffffff"))
        .build();
    let start = image.find("<svg").unwrap_or(0);
    Ok(image[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code for your authenticator app\" id=\"totp-qr\" ",
        1,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_svg_element_without_declaration() {
        let svg = super::svg("otpauth://totp/Herald:ann%40example.com?secret=ABC").unwrap();
        assert!(svg.starts_with("<svg role=\"img\""), "{}", &svg[..40]);
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("<path"));
    }
}
