// The "previous image" of the corrupted-upload plans: loaded directly (`preload`) before an
// upload the bootloader must reject, so it is the image that still boots afterwards.

int marker;

void main() {
    marker = 1234;
    printf("previous image still boots\n");
}
